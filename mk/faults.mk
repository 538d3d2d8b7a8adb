# Fault injection, kept out of production builds: `make esp-faults` builds a second image,
# build/faults/esp.img, with FERRY_FAULT_INJECTION defined (the `migrate ... fault=drop-page|corrupt-page`
# option and the engine's code that obeys it exist only there). The host tests always have it.
HOST_CFLAGS += -DFERRY_FAULT_INJECTION
ifdef FAULT_INJECTION
IMAGE_CFLAGS += -DFERRY_FAULT_INJECTION
endif

.PHONY: esp-faults
esp-faults:
	$(MAKE) BUILD=$(BUILD)/faults DEPS=$(abspath $(DEPS)) FAULT_INJECTION=1 esp
