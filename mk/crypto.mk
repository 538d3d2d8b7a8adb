# Ferry's own cryptographic helpers below the migration floor (which alone may use
# mbedTLS): BLAKE2s, the seeded generator and the entropy health tests
# (kernel/lib/). The image compiles them with every kernel/lib file; the host tests
# get them here.
PORTABLE_SRCS += kernel/lib/blake2s.c kernel/lib/csprng.c kernel/lib/entropy_health.c
