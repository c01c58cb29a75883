"""Triton kernels of one spatial transformer block (forward, and backward by recomputation).

Imported only through `common.model.fused_spatial` (which checks that triton is importable). Set
``TRITON_INTERPRET=1`` before this module is first imported to run the kernels on the CPU with
Triton's interpreter (the tests do).

Layout: the residual stream is ``(N, J, C)`` contiguous, N = B*F frames, J = 17 tokens, C = c.
A program takes a tile of ``BLOCK_F`` frames: ``R = BLOCK_F * JP`` rows, where the J tokens of a
frame are padded to ``JP`` (a power of two >= 16, 32 for J = 17) and the padded rows are masked.
Everything stays in registers through the block:

    a = LN1(x); q, k, v = a Wq^T + bq, ...; per head h: P_h = softmax(scale (q*m_h) k^T + mask),
    o += P_h (v*m_h); x1 = x + s1 (o Wp^T + bp); a2 = LN2(x1); h = a2 W1^T + b1;
    y = x1 + s2 (gelu(h) W2^T + b2)

Every product is a 2D ``tl.dot`` whose dimensions are C, the MLP width, or R, never the head
dimension: a head's scores are ``(q * m_h) @ k^T`` with ``m_h`` the 0/1 mask of the head's
columns (contraction over all C columns, of which only the head's are non-zero), and its output
``P_h @ (v * m_h)`` lands in the head's columns only. That spends ``heads`` times the FLOPs of a
per-head product on this tiny, memory-bound stage, but keeps every ``tl.dot`` at K >= 16 (real
NVIDIA GPUs need K >= 16 for 16-bit operands, K >= 8 for fp32; a head dimension of 4 would be
refused). Attention of a tile is one ``(R, R)`` score matrix per head, masked to the diagonal
blocks (a token attends only to the valid tokens of its own frame).

The stage's first block can start from the raw keypoints (``EMBED``: ``x = Linear(C_in -> C) +
pos``, as a broadcast-and-sum over the C_in <= 16 input channels, no ``tl.dot``) and its last
block can end with the stage's LayerNorm (``FINAL_NORM``).

``s1``, ``s2`` are stochastic depth's per-frame scales (0 or 1/keep), drawn by the caller in the
order timm's ``DropPath`` draws them; without them (``HAS_DP`` false) the scale is 1.

The backward kernel recomputes the block from its input (flash-style: nothing but the input is
saved) and writes each program's weight gradients to its own row of a float32 buffer, summed by
the caller: deterministic, no atomics.
"""
import triton
import triton.language as tl


@triton.jit
def _mm(a, b, DOT_DTYPE: tl.constexpr, PRECISION: tl.constexpr):
    """a @ b with float32 accumulation; operands cast to DOT_DTYPE (float32 uses PRECISION)."""
    if DOT_DTYPE == tl.float32:
        return tl.dot(a, b, input_precision=PRECISION, out_dtype=tl.float32)
    else:
        return tl.dot(a.to(DOT_DTYPE), b.to(DOT_DTYPE), out_dtype=tl.float32)


@triton.jit
def _layer_norm(x, w, b, C: tl.constexpr, eps):
    mean = tl.sum(x, axis=1) / C
    xc = x - mean[:, None]
    var = tl.sum(xc * xc, axis=1) / C
    rstd = 1.0 / tl.sqrt(var + eps)
    xhat = xc * rstd[:, None]
    return xhat * w[None, :] + b[None, :], xhat, rstd


@triton.jit
def _layer_norm_backward(da, xhat, rstd, w, C: tl.constexpr):
    """dx of ``xhat * w + b`` with xhat = LN(x), given da (rows of C)."""
    dxh = da * w[None, :]
    mean_dxh = tl.sum(dxh, axis=1) / C
    mean_dxh_xhat = tl.sum(dxh * xhat, axis=1) / C
    return rstd[:, None] * (dxh - mean_dxh[:, None] - xhat * mean_dxh_xhat[:, None])


@triton.jit
def _gelu(h):
    return 0.5 * h * (1.0 + tl.math.erf(h * 0.7071067811865476))


@triton.jit
def _gelu_grad(h):
    cdf = 0.5 * (1.0 + tl.math.erf(h * 0.7071067811865476))
    pdf = tl.exp(-0.5 * h * h) * 0.3989422804014327
    return cdf + h * pdf


@triton.jit
def _load_t(w_ptr, row0, OUT: tl.constexpr, IN: tl.constexpr):
    """Rows row0..row0+OUT of an (., IN) row-major weight, transposed: an (IN, OUT) float32 tile."""
    i = tl.arange(0, IN)
    o = tl.arange(0, OUT)
    return tl.load(w_ptr + (row0 + o[None, :]) * IN + i[:, None]).to(tl.float32)


@triton.jit
def _load_w(w_ptr, row0, OUT: tl.constexpr, IN: tl.constexpr):
    """Rows row0..row0+OUT of an (., IN) row-major weight: an (OUT, IN) float32 tile."""
    i = tl.arange(0, IN)
    o = tl.arange(0, OUT)
    return tl.load(w_ptr + (row0 + o[:, None]) * IN + i[None, :]).to(tl.float32)


@triton.jit
def _vec(ptr, off, n: tl.constexpr):
    return tl.load(ptr + off + tl.arange(0, n)).to(tl.float32)


@triton.jit
def _tile_rows(tile, N, J: tl.constexpr, JP: tl.constexpr, BLOCK_F: tl.constexpr, C: tl.constexpr):
    """Row bookkeeping of a tile: element offsets (R, C), row validity (R,), frame index (R,), attention mask (R, R)."""
    R: tl.constexpr = BLOCK_F * JP
    rows = tl.arange(0, R)
    local = rows // JP
    frame = tile * BLOCK_F + local
    tok = rows % JP
    valid = (tok < J) & (frame < N)
    cols = tl.arange(0, C)
    offs = (frame.to(tl.int64) * J + tok)[:, None] * C + cols[None, :]
    amask = (local[:, None] == local[None, :]) & (tok[None, :] < J)
    return offs, valid, frame, tok, amask


@triton.jit
def _embed_load(in_ptr, emb_w, frame, tok, valid, J: tl.constexpr, C: tl.constexpr, CIN: tl.constexpr,
                CINP: tl.constexpr):
    """The raw input rows (R, CINP) (zero-padded channels) and the embedding weight (C, CINP)."""
    ch = tl.arange(0, CINP)
    xin = tl.load(in_ptr + (frame.to(tl.int64) * J + tok)[:, None] * CIN + ch[None, :],
                  mask=valid[:, None] & (ch[None, :] < CIN), other=0.0).to(tl.float32)
    w = tl.load(emb_w + tl.arange(0, C)[:, None] * CIN + ch[None, :], mask=ch[None, :] < CIN,
                other=0.0).to(tl.float32)
    return xin, w


@triton.jit
def _embed(xin, w, emb_b, pos_ptr, tok, valid, C: tl.constexpr):
    """Linear(C_in -> C) of the raw rows plus the joint's position embedding; padded rows 0."""
    cols = tl.arange(0, C)
    x = tl.sum(xin[:, None, :] * w[None, :, :], axis=2) + _vec(emb_b, 0, C)[None, :]
    x += tl.load(pos_ptr + tok[:, None] * C + cols[None, :], mask=valid[:, None], other=0.0).to(tl.float32)
    return tl.where(valid[:, None], x, 0.0)


@triton.jit
def _block_input(x_ptr, emb_w, emb_b, pos_ptr, tile, N, J: tl.constexpr, JP: tl.constexpr, BLOCK_F: tl.constexpr,
                 C: tl.constexpr, CIN: tl.constexpr, CINP: tl.constexpr, EMBED: tl.constexpr):
    """The prologue of both kernels: a tile's rows (`_tile_rows`) and the block's input x (R, C) float32, read
    from x_ptr, or (EMBED) the embedding of the raw keypoints at x_ptr; then also those rows (R, CINP) and the
    embedding weight (C, CINP) that the backward needs (without EMBED both are x, unused)."""
    offs, valid, frame, tok, amask = _tile_rows(tile, N, J, JP, BLOCK_F, C)
    if EMBED:
        xin, emb_wt = _embed_load(x_ptr, emb_w, frame, tok, valid, J, C, CIN, CINP)
        x = _embed(xin, emb_wt, emb_b, pos_ptr, tok, valid, C)
    else:
        x = tl.load(x_ptr + offs, mask=valid[:, None], other=0.0).to(tl.float32)
        xin = x
        emb_wt = x
    return offs, valid, frame, tok, amask, x, xin, emb_wt


@triton.jit
def _frame_scale(s_ptr, frame, N):
    """Stochastic depth's scale (R,) of each row's frame (1 past the last frame)."""
    return tl.load(s_ptr + frame, mask=frame < N, other=1.0).to(tl.float32)


@triton.jit
def _attention_probs(q, k, head, amask, scale, C: tl.constexpr, D: tl.constexpr,
                     DOT_DTYPE: tl.constexpr, PRECISION: tl.constexpr):
    """Softmax probabilities (R, R) of one head and the 0/1 mask of its columns (C,)."""
    mh = (tl.arange(0, C) // D) == head
    qh = tl.where(mh[None, :], q, 0.0)
    s = _mm(qh, tl.trans(k), DOT_DTYPE, PRECISION) * scale
    s = tl.where(amask, s, float('-inf'))
    m = tl.max(s, axis=1)
    p = tl.exp(s - m[:, None])
    p = p / tl.sum(p, axis=1)[:, None]
    return p, mh


@triton.jit
def _attention_branch(a, qkv_w, qkv_b, proj_w, proj_b, amask, scale, C: tl.constexpr, HEADS: tl.constexpr,
                      DOT_DTYPE: tl.constexpr, PRECISION: tl.constexpr):
    """The attention branch of a block from its normalised input `a` (R, C): q, k, v, the heads' output o
    (each head in its own columns) and proj(o); the backward kernel recomputes it with the same code."""
    D: tl.constexpr = C // HEADS
    q = _mm(a, _load_t(qkv_w, 0, C, C), DOT_DTYPE, PRECISION) + _vec(qkv_b, 0, C)[None, :]
    k = _mm(a, _load_t(qkv_w, C, C, C), DOT_DTYPE, PRECISION) + _vec(qkv_b, C, C)[None, :]
    v = _mm(a, _load_t(qkv_w, 2 * C, C, C), DOT_DTYPE, PRECISION) + _vec(qkv_b, 2 * C, C)[None, :]
    o = tl.zeros_like(a)
    for head in tl.static_range(HEADS):
        p, mh = _attention_probs(q, k, head, amask, scale, C, D, DOT_DTYPE, PRECISION)
        o += _mm(p, tl.where(mh[None, :], v, 0.0), DOT_DTYPE, PRECISION)
    branch = _mm(o, _load_t(proj_w, 0, C, C), DOT_DTYPE, PRECISION) + _vec(proj_b, 0, C)[None, :]
    return q, k, v, o, branch


@triton.jit
def spatial_block_fwd(x_ptr, y_ptr, s1_ptr, s2_ptr,
                      ln1_w, ln1_b, qkv_w, qkv_b, proj_w, proj_b, ln2_w, ln2_b, fc1_w, fc1_b, fc2_w, fc2_b,
                      emb_w, emb_b, pos_ptr, norm_w, norm_b,
                      N, eps1, eps2, eps3, scale,
                      J: tl.constexpr, JP: tl.constexpr, C: tl.constexpr, HID: tl.constexpr,
                      HEADS: tl.constexpr, BLOCK_F: tl.constexpr, HAS_DP: tl.constexpr,
                      EMBED: tl.constexpr, CIN: tl.constexpr, CINP: tl.constexpr, FINAL_NORM: tl.constexpr,
                      DOT_DTYPE: tl.constexpr, PRECISION: tl.constexpr):
    """y = block(x) for frames [pid*BLOCK_F, (pid+1)*BLOCK_F).

    EMBED: x_ptr is the raw input (N, J, CIN) and x = Linear(emb_w, emb_b)(input) + pos (the
    stage's first block); FINAL_NORM: y is LayerNorm(norm_w, norm_b, eps3) of the block's output
    (the stage's last block).
    """
    offs, valid, frame, _, amask, x, _, _ = _block_input(x_ptr, emb_w, emb_b, pos_ptr, tl.program_id(0), N, J, JP,
                                                         BLOCK_F, C, CIN, CINP, EMBED)

    a, _, _ = _layer_norm(x, _vec(ln1_w, 0, C), _vec(ln1_b, 0, C), C, eps1)
    _, _, _, _, branch = _attention_branch(a, qkv_w, qkv_b, proj_w, proj_b, amask, scale, C, HEADS,
                                           DOT_DTYPE, PRECISION)
    if HAS_DP:
        branch = branch * _frame_scale(s1_ptr, frame, N)[:, None]
    x1 = x + branch

    a2, _, _ = _layer_norm(x1, _vec(ln2_w, 0, C), _vec(ln2_b, 0, C), C, eps2)
    h = _mm(a2, _load_t(fc1_w, 0, HID, C), DOT_DTYPE, PRECISION) + _vec(fc1_b, 0, HID)[None, :]
    m = _mm(_gelu(h), _load_t(fc2_w, 0, C, HID), DOT_DTYPE, PRECISION) + _vec(fc2_b, 0, C)[None, :]
    if HAS_DP:
        m = m * _frame_scale(s2_ptr, frame, N)[:, None]
    y = x1 + m
    if FINAL_NORM:
        y, _, _ = _layer_norm(y, _vec(norm_w, 0, C), _vec(norm_b, 0, C), C, eps3)
    tl.store(y_ptr + offs, y.to(y_ptr.dtype.element_ty), mask=valid[:, None])


@triton.jit
def _store_grad(buf, off, g, n: tl.constexpr):
    tl.store(buf + off + tl.arange(0, n), g)


@triton.jit
def _store_grad2(buf, off, g, OUT: tl.constexpr, IN: tl.constexpr):
    o = tl.arange(0, OUT)
    i = tl.arange(0, IN)
    tl.store(buf + off + o[:, None] * IN + i[None, :], g)


@triton.jit
def spatial_block_bwd(x_ptr, dy_ptr, dx_ptr, s1_ptr, s2_ptr, grad_ptr,
                      ln1_w, ln1_b, qkv_w, qkv_b, proj_w, proj_b, ln2_w, ln2_b, fc1_w, fc1_b, fc2_w, fc2_b,
                      emb_w, emb_b, pos_ptr, norm_w, norm_b,
                      N, n_tiles, row_size, eps1, eps2, eps3, scale,
                      J: tl.constexpr, JP: tl.constexpr, C: tl.constexpr, HID: tl.constexpr,
                      HEADS: tl.constexpr, BLOCK_F: tl.constexpr, HAS_DP: tl.constexpr,
                      EMBED: tl.constexpr, CIN: tl.constexpr, CINP: tl.constexpr, FINAL_NORM: tl.constexpr,
                      DOT_DTYPE: tl.constexpr, PRECISION: tl.constexpr):
    """dx of the block, and this program's share of the weight gradients in row pid of grad_ptr.

    Program pid takes tiles pid, pid + programs, ...; grad_ptr is float32 (programs, TOTAL) with
    the gradients in the order of `_grad_layout` (common.model.fused_spatial), row_size values a
    row. EMBED / FINAL_NORM as in `spatial_block_fwd`: then dx_ptr is the raw input's gradient
    (N, J, CIN) and dy_ptr the normalised output's, and the row also holds the embedding's,
    the position embedding's and the norm's gradients.
    """
    D: tl.constexpr = C // HEADS
    pid = tl.program_id(0)
    programs = tl.num_programs(0)
    g_ln1w = tl.zeros([C], tl.float32)
    g_ln1b = tl.zeros([C], tl.float32)
    g_wq = tl.zeros([C, C], tl.float32)
    g_wk = tl.zeros([C, C], tl.float32)
    g_wv = tl.zeros([C, C], tl.float32)
    g_bq = tl.zeros([C], tl.float32)
    g_bk = tl.zeros([C], tl.float32)
    g_bv = tl.zeros([C], tl.float32)
    g_wp = tl.zeros([C, C], tl.float32)
    g_bp = tl.zeros([C], tl.float32)
    g_ln2w = tl.zeros([C], tl.float32)
    g_ln2b = tl.zeros([C], tl.float32)
    g_w1 = tl.zeros([HID, C], tl.float32)
    g_b1 = tl.zeros([HID], tl.float32)
    g_w2 = tl.zeros([C, HID], tl.float32)
    g_b2 = tl.zeros([C], tl.float32)
    g_ew = tl.zeros([C, CINP], tl.float32)
    g_eb = tl.zeros([C], tl.float32)
    g_pos = tl.zeros([JP, C], tl.float32)
    g_nw = tl.zeros([C], tl.float32)
    g_nb = tl.zeros([C], tl.float32)

    for tile in range(pid, n_tiles, programs):
        offs, valid, frame, tok, amask, x, xin, emb_wt = _block_input(x_ptr, emb_w, emb_b, pos_ptr, tile, N, J, JP,
                                                                      BLOCK_F, C, CIN, CINP, EMBED)
        dy = tl.load(dy_ptr + offs, mask=valid[:, None], other=0.0).to(tl.float32)

        # forward again
        w_ln1 = _vec(ln1_w, 0, C)
        a, xhat1, rstd1 = _layer_norm(x, w_ln1, _vec(ln1_b, 0, C), C, eps1)
        q, k, v, o, branch = _attention_branch(a, qkv_w, qkv_b, proj_w, proj_b, amask, scale, C, HEADS,
                                               DOT_DTYPE, PRECISION)
        if HAS_DP:
            s1 = _frame_scale(s1_ptr, frame, N)
            s2 = _frame_scale(s2_ptr, frame, N)
            x1 = x + branch * s1[:, None]
        else:
            x1 = x + branch
        w_ln2 = _vec(ln2_w, 0, C)
        a2, xhat2, rstd2 = _layer_norm(x1, w_ln2, _vec(ln2_b, 0, C), C, eps2)
        h = _mm(a2, _load_t(fc1_w, 0, HID, C), DOT_DTYPE, PRECISION) + _vec(fc1_b, 0, HID)[None, :]
        g = _gelu(h)
        if FINAL_NORM:          # dy is the gradient of LayerNorm(y): the gradient of y from it
            m = _mm(g, _load_t(fc2_w, 0, C, HID), DOT_DTYPE, PRECISION) + _vec(fc2_b, 0, C)[None, :]
            if HAS_DP:
                y = x1 + m * s2[:, None]
            else:
                y = x1 + m
            w_norm = _vec(norm_w, 0, C)
            _, yhat, rstd3 = _layer_norm(y, w_norm, _vec(norm_b, 0, C), C, eps3)
            g_nw += tl.sum(dy * yhat, axis=0)
            g_nb += tl.sum(dy, axis=0)
            dy = _layer_norm_backward(dy, yhat, rstd3, w_norm, C)

        # MLP branch
        if HAS_DP:
            dm = dy * s2[:, None]
        else:
            dm = dy
        g_w2 += _mm(tl.trans(dm), g, DOT_DTYPE, PRECISION)
        g_b2 += tl.sum(dm, axis=0)
        dh = _mm(dm, _load_w(fc2_w, 0, C, HID), DOT_DTYPE, PRECISION) * _gelu_grad(h)
        g_w1 += _mm(tl.trans(dh), a2, DOT_DTYPE, PRECISION)
        g_b1 += tl.sum(dh, axis=0)
        da2 = _mm(dh, _load_w(fc1_w, 0, HID, C), DOT_DTYPE, PRECISION)
        g_ln2w += tl.sum(da2 * xhat2, axis=0)
        g_ln2b += tl.sum(da2, axis=0)
        dx1 = dy + _layer_norm_backward(da2, xhat2, rstd2, w_ln2, C)

        # attention branch
        if HAS_DP:
            dao = dx1 * s1[:, None]
        else:
            dao = dx1
        g_wp += _mm(tl.trans(dao), o, DOT_DTYPE, PRECISION)
        g_bp += tl.sum(dao, axis=0)
        do = _mm(dao, _load_w(proj_w, 0, C, C), DOT_DTYPE, PRECISION)
        dq = tl.zeros_like(x)
        dk = tl.zeros_like(x)
        dv = tl.zeros_like(x)
        for head in tl.static_range(HEADS):
            p, mh = _attention_probs(q, k, head, amask, scale, C, D, DOT_DTYPE, PRECISION)
            dp = _mm(do, tl.trans(tl.where(mh[None, :], v, 0.0)), DOT_DTYPE, PRECISION)
            dv += tl.where(mh[None, :], _mm(tl.trans(p), do, DOT_DTYPE, PRECISION), 0.0)
            ds = p * (dp - tl.sum(dp * p, axis=1)[:, None]) * scale
            dq += tl.where(mh[None, :], _mm(ds, k, DOT_DTYPE, PRECISION), 0.0)
            dk += tl.where(mh[None, :], _mm(tl.trans(ds), q, DOT_DTYPE, PRECISION), 0.0)
        g_wq += _mm(tl.trans(dq), a, DOT_DTYPE, PRECISION)
        g_wk += _mm(tl.trans(dk), a, DOT_DTYPE, PRECISION)
        g_wv += _mm(tl.trans(dv), a, DOT_DTYPE, PRECISION)
        g_bq += tl.sum(dq, axis=0)
        g_bk += tl.sum(dk, axis=0)
        g_bv += tl.sum(dv, axis=0)
        da = (_mm(dq, _load_w(qkv_w, 0, C, C), DOT_DTYPE, PRECISION)
              + _mm(dk, _load_w(qkv_w, C, C, C), DOT_DTYPE, PRECISION)
              + _mm(dv, _load_w(qkv_w, 2 * C, C, C), DOT_DTYPE, PRECISION))
        g_ln1w += tl.sum(da * xhat1, axis=0)
        g_ln1b += tl.sum(da, axis=0)
        dx = dx1 + _layer_norm_backward(da, xhat1, rstd1, w_ln1, C)
        if EMBED:               # through x = xin emb_w^T + emb_b + pos[token]
            g_eb += tl.sum(dx, axis=0)
            g_pos += tl.sum(tl.reshape(dx, [BLOCK_F, JP, C]), axis=0)
            g_ew += tl.sum(dx[:, :, None] * xin[:, None, :], axis=0)
            dxin = tl.sum(dx[:, :, None] * emb_wt[None, :, :], axis=1)
            ch = tl.arange(0, CINP)
            tl.store(dx_ptr + (frame.to(tl.int64) * J + tok)[:, None] * CIN + ch[None, :],
                     dxin.to(dx_ptr.dtype.element_ty), mask=valid[:, None] & (ch[None, :] < CIN))
        else:
            tl.store(dx_ptr + offs, dx.to(dx_ptr.dtype.element_ty), mask=valid[:, None])

    # this program's weight gradients, in GRAD_LAYOUT's order
    row = grad_ptr + pid.to(tl.int64) * row_size
    _store_grad(row, 0, g_ln1w, C)
    _store_grad(row, C, g_ln1b, C)
    _store_grad2(row, 2 * C, g_wq, C, C)
    _store_grad2(row, 2 * C + C * C, g_wk, C, C)
    _store_grad2(row, 2 * C + 2 * C * C, g_wv, C, C)
    _store_grad(row, 2 * C + 3 * C * C, g_bq, C)
    _store_grad(row, 3 * C + 3 * C * C, g_bk, C)
    _store_grad(row, 4 * C + 3 * C * C, g_bv, C)
    _store_grad2(row, 5 * C + 3 * C * C, g_wp, C, C)
    _store_grad(row, 5 * C + 4 * C * C, g_bp, C)
    _store_grad(row, 6 * C + 4 * C * C, g_ln2w, C)
    _store_grad(row, 7 * C + 4 * C * C, g_ln2b, C)
    _store_grad2(row, 8 * C + 4 * C * C, g_w1, HID, C)
    _store_grad(row, 8 * C + 4 * C * C + HID * C, g_b1, HID)
    _store_grad2(row, 8 * C + 4 * C * C + HID * C + HID, g_w2, C, HID)
    _store_grad(row, 8 * C + 4 * C * C + 2 * HID * C + HID, g_b2, C)
    end = 9 * C + 4 * C * C + 2 * HID * C + HID
    if EMBED:
        ch = tl.arange(0, CINP)
        c = tl.arange(0, C)
        tl.store(row + end + c[:, None] * CIN + ch[None, :], g_ew, mask=ch[None, :] < CIN)
        _store_grad(row, end + C * CIN, g_eb, C)
        tok = tl.arange(0, JP)
        tl.store(row + end + C * CIN + C + tok[:, None] * C + c[None, :], g_pos, mask=tok[:, None] < J)
        end += C * CIN + C + J * C
    if FINAL_NORM:
        _store_grad(row, end, g_nw, C)
        _store_grad(row, end + C, g_nb, C)
