/*
 * This Ferry host: its configuration (ferry.cfg) and the files the boot loader
 * read from the ESP. host_init() sets both up once at bring-up, reporting every
 * problem in ferry.cfg to the kernel log (a bad file never stops the boot: the
 * defaults stay for the keys it gets wrong); read-only afterwards. Image only.
 */
#ifndef FERRY_HOST_H
#define FERRY_HOST_H

#include "kernel/boot_info.h"
#include "kernel/config.h"

/* Reads ferry.cfg from the boot information and keeps its ESP files; call once. */
void host_init(const struct boot_info *info);

const struct ferry_config *host_config(void);

/* A file read from the ESP at boot by its path ("guests/counter.elf"); NULL if absent. */
const struct boot_file *host_file(const char *path);

/* All files read at boot. */
const struct boot_file *host_files(unsigned *count);

#endif
