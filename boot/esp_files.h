/*
 * Reading Ferry's files from the EFI system partition it was loaded from, while
 * boot services still run: ferry.cfg, every guest image under \guests\ and the
 * migration channel's certificates and keys under \tls\ (optional).
 * Files are read whole into loader-data pool memory, which Ferry keeps.
 */
#ifndef FERRY_BOOT_ESP_FILES_H
#define FERRY_BOOT_ESP_FILES_H

#include <efi.h>
#include "kernel/boot_info.h"

/* Largest file read from the ESP (guest images included). */
#define ESP_FILE_MAX_BYTES (64ull << 20)

/* Reads ferry.cfg, \guests\* and \tls\*; problems are logged and skipped, never fatal. */
void esp_load_files(EFI_HANDLE image, struct boot_info *info);

#endif
