# virtio-net over virtio-mmio (docs/virtio-net.md): the split virtqueues, the transport and
# the device are portable and unit tested on the host.
PORTABLE_SRCS += kernel/vdev/virtqueue.c kernel/vdev/virtio_mmio.c kernel/vdev/virtio_net.c \
  kernel/vdev/virtio_net_state.c
