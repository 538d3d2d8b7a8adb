# The guests' scheduler (kernel/vm/): its throttle by time is portable and host-tested
# (tests/unit/test_vm_throttle.c).
PORTABLE_SRCS += kernel/vm/throttle.c
