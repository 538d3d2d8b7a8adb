/*
 * This Ferry host: its configuration (ferry.cfg) and the files the boot loader
 * read from the ESP. Set up once by kernel_main, read-only afterwards.
 */
#ifndef FERRY_HOST_H
#define FERRY_HOST_H

#include "kernel/boot_info.h"
#include "kernel/config.h"

const struct ferry_config *host_config(void);

/* A file read from the ESP at boot by its path ("guests/counter.elf"); NULL if absent. */
const struct boot_file *host_file(const char *path);

/* All files read at boot. */
const struct boot_file *host_files(unsigned *count);

#endif
