/* Reading ferry.cfg and the guest images from the ESP; see esp_files.h. */
#include "boot/esp_files.h"
#include "kernel/log.h"

#include <efilib.h>
#include <stdbool.h>
#include <string.h>

/* Converts a UCS-2 file name to ASCII; false when it has other characters or is too long. */
static bool ascii_name(const CHAR16 *in, char *out, size_t max)
{
	size_t i = 0;

	for (; in[i]; i++) {
		if (i + 1 >= max || in[i] < 0x20 || in[i] > 0x7e)
			return false;
		out[i] = (char)in[i];
	}
	out[i] = '\0';
	return true;
}

/* Reads an open file whole into pool memory; returns NULL (after logging) on failure. */
static uint8_t *read_whole(EFI_FILE_HANDLE file, const char *name, uint64_t *size_out)
{
	EFI_FILE_INFO *fi = LibFileInfo(file);
	if (!fi) {
		klog_warn("esp: %s: cannot stat", name);
		return NULL;
	}
	uint64_t size = fi->FileSize;
	FreePool(fi);
	if (size > ESP_FILE_MAX_BYTES) {
		klog_warn("esp: %s: %llu bytes is over the %llu-byte limit, skipped", name,
			  (unsigned long long)size, (unsigned long long)ESP_FILE_MAX_BYTES);
		return NULL;
	}
	uint8_t *buf = NULL;
	EFI_STATUS st = uefi_call_wrapper(BS->AllocatePool, 3, EfiLoaderData, size + 1, (void **)&buf);
	if (EFI_ERROR(st)) {
		klog_warn("esp: %s: no memory for %llu bytes", name, (unsigned long long)size);
		return NULL;
	}
	UINTN got = size;
	st = uefi_call_wrapper(file->Read, 3, file, &got, buf);
	if (EFI_ERROR(st) || got != size) {
		klog_warn("esp: %s: read failed", name);
		FreePool(buf);
		return NULL;
	}
	buf[size] = '\0';
	*size_out = size;
	return buf;
}

static void add_file(struct boot_info *info, const char *name, const uint8_t *data, uint64_t size)
{
	if (info->file_count == BOOT_MAX_FILES) {
		klog_warn("esp: more than %d files, %s skipped", BOOT_MAX_FILES, name);
		return;
	}
	struct boot_file *f = &info->files[info->file_count++];
	strncpy(f->name, name, sizeof(f->name) - 1);
	f->data = data;
	f->size = size;
}

static void load_config(EFI_FILE_HANDLE root, struct boot_info *info)
{
	EFI_FILE_HANDLE file;
	EFI_STATUS st = uefi_call_wrapper(root->Open, 5, root, &file, L"ferry.cfg",
					  EFI_FILE_MODE_READ, 0);
	if (EFI_ERROR(st)) {
		klog_warn("esp: no ferry.cfg, using defaults");
		return;
	}
	uint64_t size;
	uint8_t *text = read_whole(file, "ferry.cfg", &size);
	uefi_call_wrapper(file->Close, 1, file);
	if (text) {
		info->config_text = (const char *)text;
		info->config_len = size;
	}
}

/*
 * Reads every file of an ESP folder whole, named "PREFIX/NAME" (kind names the files in
 * the log). Returns false when there is no such folder.
 */
static bool load_folder(EFI_FILE_HANDLE root, struct boot_info *info, CHAR16 *folder,
			const char *prefix, const char *kind)
{
	EFI_FILE_HANDLE dir;
	EFI_STATUS st = uefi_call_wrapper(root->Open, 5, root, &dir, folder, EFI_FILE_MODE_READ, 0);
	if (EFI_ERROR(st))
		return false;
	size_t prefix_len = strlen(prefix);
	/* A directory read returns one EFI_FILE_INFO per call; size 0 marks the end. */
	union {
		EFI_FILE_INFO info;
		uint8_t bytes[SIZE_OF_EFI_FILE_INFO + 256 * sizeof(CHAR16)];
	} entry;
	for (;;) {
		UINTN size = sizeof(entry);
		st = uefi_call_wrapper(dir->Read, 3, dir, &size, &entry);
		if (EFI_ERROR(st) || size == 0)
			break;
		if (entry.info.Attribute & EFI_FILE_DIRECTORY)
			continue;
		char name[BOOT_FILE_NAME];
		memcpy(name, prefix, prefix_len + 1);
		if (!ascii_name(entry.info.FileName, name + prefix_len, sizeof(name) - prefix_len)) {
			klog_warn("esp: a %s file with an unusable name was skipped", kind);
			continue;
		}
		EFI_FILE_HANDLE file;
		st = uefi_call_wrapper(dir->Open, 5, dir, &file, entry.info.FileName, EFI_FILE_MODE_READ, 0);
		if (EFI_ERROR(st)) {
			klog_warn("esp: %s: cannot open", name);
			continue;
		}
		uint64_t fsize;
		uint8_t *data = read_whole(file, name, &fsize);
		uefi_call_wrapper(file->Close, 1, file);
		if (data) {
			add_file(info, name, data, fsize);
			klog_info("esp: loaded %s (%llu bytes)", name, (unsigned long long)fsize);
		}
	}
	uefi_call_wrapper(dir->Close, 1, dir);
	return true;
}

void esp_load_files(EFI_HANDLE image, struct boot_info *info)
{
	EFI_LOADED_IMAGE *loaded;
	EFI_STATUS st = uefi_call_wrapper(BS->HandleProtocol, 3, image, &LoadedImageProtocol,
					  (void **)&loaded);
	if (EFI_ERROR(st)) {
		klog_warn("esp: no loaded-image protocol, nothing read");
		return;
	}
	info->image_base = (uint64_t)(uintptr_t)loaded->ImageBase;
	info->image_size = loaded->ImageSize;
	EFI_FILE_HANDLE root = LibOpenRoot(loaded->DeviceHandle);
	if (!root) {
		klog_warn("esp: cannot open the boot volume, nothing read");
		return;
	}
	load_config(root, info);
	if (!load_folder(root, info, L"guests", "guests/", "guest"))
		klog_info("esp: no guests folder");
	/* The migration channel's certificates and keys (ferry.cfg's migration_cert...): optional. */
	load_folder(root, info, L"tls", "tls/", "tls");
	uefi_call_wrapper(root->Close, 1, root);
}
