"""The command-line layer: flags, flag advice and the one entry-point wrapper.

Everything here turns command lines into the library's typed configurations (`common`); the library
never imports this package.
"""
