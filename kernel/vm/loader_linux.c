/*
 * The Linux bzImage loader (contract in loader_linux.h). Field offsets are those of the
 * setup header in the image (boot.rst, "The Real-Mode Kernel Header") and of struct
 * boot_params (zero-page.rst); the header is copied to the same offsets of the zero page.
 * Validation and placement run to completion before the first write to RAM.
 */
#include "kernel/vm/loader_linux.h"

#include <string.h>

#include "arch/x86/pte.h"
#include "arch/x86/cpu_state.h"
#include "arch/x86/x86.h"
#include "kernel/lib/errors.h"
#include "kernel/vdev/platform.h"

/* ---- the setup header (offsets in the file and in boot_params alike) ------------------ */
#define HDR_START           0x1f1   /* setup_sects: the header's first byte */
#define HDR_SETUP_SECTS     0x1f1
#define HDR_SYSSIZE         0x1f4
#define HDR_VID_MODE        0x1fa
#define HDR_BOOT_FLAG       0x1fe
#define HDR_JUMP            0x200   /* 0xEB, then the header's length past 0x202 */
#define HDR_MAGIC           0x202
#define HDR_VERSION         0x206
#define HDR_TYPE_OF_LOADER  0x210
#define HDR_LOADFLAGS       0x211
#define HDR_CODE32_START    0x214
#define HDR_RAMDISK_IMAGE   0x218
#define HDR_RAMDISK_SIZE    0x21c
#define HDR_CMD_LINE_PTR    0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGN    0x230
#define HDR_RELOCATABLE     0x234
#define HDR_XLOADFLAGS      0x236
#define HDR_CMDLINE_SIZE    0x238
#define HDR_PREF_ADDRESS    0x258
#define HDR_INIT_SIZE       0x260
#define HDR_FIELDS_END      0x264   /* the last field read: init_size */
#define HDR_SPACE_END       0x290   /* boot_params keeps the header below edd_mbr_sig_buffer */

#define BOOT_FLAG_MAGIC     0xaa55
#define HDR_MAGIC_VALUE     0x53726448u   /* "HdrS" */
#define JUMP_SHORT          0xeb
#define SECTOR_BYTES        512u
#define SETUP_SECTS_DEFAULT 4u            /* setup_sects 0 means 4 */
#define SYSSIZE_UNIT        16u           /* syssize counts 16-byte paragraphs */
#define LOADED_HIGH         0x01          /* loadflags bit 0: a bzImage */
#define XLF_KERNEL_64       0x0001        /* the 64-bit entry at +0x200 exists */
#define ENTRY_64_OFFSET     0x200u
#define BZIMAGE_LOAD_GPA    0x100000ull   /* where a bzImage loads without pref_address */
#define VID_MODE_NORMAL     0xffff
#define LOADER_UNDEFINED    0xff          /* type_of_loader: no assigned ID (nonzero: the
					     kernel ignores an initrd when this is 0) */
#define MIN_KERNEL_ALIGN    PT_PAGE_4K
#define MAX_KERNEL_ALIGN    PT_PAGE_1G

/* ---- boot_params beyond the header (zero-page.rst) ------------------------------------- */
#define BP_BYTES            0x1000u
#define BP_ACPI_RSDP_ADDR   0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES     0x1e8
#define BP_E820_TABLE       0x2d0
#define E820_ENTRY_BYTES    20u   /* u64 addr, u64 size, u32 type, packed */
#define E820_MAX_ENTRIES    128u
#define E820_RAM            1u
#define E820_RESERVED       2u
#define E820_ACPI           3u

/* ---- the boot-time structures ------------------------------------------------------------ */
#define GDT_BYTES           0x30u   /* null, null, CS, DS, TSS (two slots) */
#define PDPT_GPA            (LINUX_PML4_GPA + PT_PAGE_4K)
#define PD_GPA              (PDPT_GPA + PT_PAGE_4K)
#define IDENTITY_MAP_BYTES  (4ull << 30)
#define PD_COUNT            (IDENTITY_MAP_BYTES / PT_PAGE_1G)
#define LOW_STRUCTURES_END  (LINUX_CMDLINE_GPA + LINUX_CMDLINE_MAX)

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) { return get16(p) | (uint32_t)get16(p + 2) << 16; }
static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

static int reject(const char **why, const char *reason, int err)
{
	if (why)
		*why = reason;
	return err;
}

static bool power_of_two(uint64_t v) { return v && !(v & (v - 1)); }
static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }
static uint64_t align_down(uint64_t v, uint64_t a) { return v & ~(a - 1); }

int linux_parse_bzimage(const void *image, size_t image_len, struct linux_bzimage *out,
			const char **why)
{
	const uint8_t *b = image;

	if (!image || image_len < HDR_FIELDS_END)
		return reject(why, "bzImage: shorter than its setup header", FERR_INVAL);
	if (get16(b + HDR_BOOT_FLAG) != BOOT_FLAG_MAGIC || get32(b + HDR_MAGIC) != HDR_MAGIC_VALUE)
		return reject(why, "bzImage: no Linux boot header (0xAA55, HdrS)", FERR_INVAL);
	uint16_t protocol = get16(b + HDR_VERSION);
	if (protocol < LINUX_MIN_PROTOCOL)
		return reject(why, "bzImage: boot protocol older than 2.12", FERR_INVAL);
	/* The jump over the header doubles as its length (boot.rst, "jump"). */
	if (b[HDR_JUMP] != JUMP_SHORT)
		return reject(why, "bzImage: the header does not start with a short jump", FERR_INVAL);
	uint32_t header_end = HDR_MAGIC + b[HDR_JUMP + 1];
	if (header_end < HDR_FIELDS_END || header_end > HDR_SPACE_END)
		return reject(why, "bzImage: setup header length out of range", FERR_INVAL);
	if (!(b[HDR_LOADFLAGS] & LOADED_HIGH))
		return reject(why, "bzImage: not a bzImage (LOADED_HIGH clear)", FERR_INVAL);
	uint16_t xloadflags = get16(b + HDR_XLOADFLAGS);
	if (!(xloadflags & XLF_KERNEL_64))
		return reject(why, "bzImage: no 64-bit entry point (XLF_KERNEL_64)", FERR_INVAL);

	uint64_t sects = b[HDR_SETUP_SECTS] ? b[HDR_SETUP_SECTS] : SETUP_SECTS_DEFAULT;
	uint64_t setup_bytes = (sects + 1) * SECTOR_BYTES;
	if (setup_bytes < header_end || setup_bytes >= image_len)
		return reject(why, "bzImage: setup size outside the file", FERR_INVAL);
	uint64_t kernel_bytes = (uint64_t)get32(b + HDR_SYSSIZE) * SYSSIZE_UNIT;
	if (kernel_bytes <= ENTRY_64_OFFSET || kernel_bytes > image_len - setup_bytes)
		return reject(why, "bzImage: kernel size (syssize) outside the file", FERR_INVAL);
	uint64_t init_size = get32(b + HDR_INIT_SIZE);
	if (init_size < kernel_bytes)
		return reject(why, "bzImage: init_size smaller than the kernel", FERR_INVAL);

	bool relocatable = b[HDR_RELOCATABLE] != 0;
	uint64_t align = get32(b + HDR_KERNEL_ALIGN);
	uint64_t pref = get64(b + HDR_PREF_ADDRESS);
	if (pref == 0)
		pref = BZIMAGE_LOAD_GPA;
	if (pref < BZIMAGE_LOAD_GPA || pref >= PLATFORM_RAM_MAX || pref % PT_PAGE_4K)
		return reject(why, "bzImage: preferred address unusable", FERR_INVAL);
	uint64_t load = pref;
	if (relocatable) {
		/* runtime_start = align_up(load_address, kernel_alignment) (boot.rst, init_size) */
		if (!power_of_two(align) || align < MIN_KERNEL_ALIGN || align > MAX_KERNEL_ALIGN)
			return reject(why, "bzImage: kernel_alignment not a power of two in 4K..1G",
				      FERR_INVAL);
		load = align_up(pref, align);
	}

	*out = (struct linux_bzimage){
		.protocol = protocol,
		.header_end = header_end,
		.setup_bytes = setup_bytes,
		.kernel_bytes = kernel_bytes,
		.load_gpa = load,
		.init_size = init_size,
		.cmdline_max = get32(b + HDR_CMDLINE_SIZE),
		.initrd_addr_max = get32(b + HDR_INITRD_ADDR_MAX),
		.xloadflags = xloadflags,
		.relocatable = relocatable,
	};
	return 0;
}

static uint64_t min_ram(const struct linux_bzimage *k, size_t initrd_bytes)
{
	return align_up(k->load_gpa + k->init_size + align_up(initrd_bytes, PT_PAGE_4K) +
			LINUX_RUN_RESERVE_BYTES, LINUX_MIN_RAM_GRAIN);
}

int linux_min_ram_bytes(const void *image, size_t image_len, size_t initrd_bytes,
			uint64_t *min_bytes, const char **why)
{
	struct linux_bzimage k;
	int err = linux_parse_bzimage(image, image_len, &k, why);

	if (err)
		return err;
	/* Larger than the largest guest's RAM: fits no guest (and cannot wrap the sum). */
	if (initrd_bytes > PLATFORM_RAM_MAX)
		return reject(why, "initramfs larger than the largest guest", FERR_INVAL);
	*min_bytes = min_ram(&k, initrd_bytes);
	return 0;
}

/* ---- the e820 map ------------------------------------------------------------------------ */
struct e820_map {
	struct { uint64_t base, bytes; uint32_t type; } e[E820_MAX_ENTRIES];
	unsigned count;
};

static void e820_add(struct e820_map *m, uint64_t base, uint64_t bytes, uint32_t type)
{
	/* Insertion keeps the map sorted by address (the caller checked the room). */
	unsigned i = m->count++;

	while (i > 0 && m->e[i - 1].base > base) {
		m->e[i] = m->e[i - 1];
		i--;
	}
	m->e[i].base = base;
	m->e[i].bytes = bytes;
	m->e[i].type = type;
}

static bool overlaps(uint64_t a, uint64_t a_bytes, uint64_t b, uint64_t b_bytes)
{
	return a < b + b_bytes && b < a + a_bytes;
}

/* RAM, the ACPI region and the reserved windows, each checked against the others. */
static int build_e820(const struct linux_boot_config *cfg, struct e820_map *m, const char **why)
{
	m->count = 0;
	e820_add(m, 0, PLATFORM_LOW_RAM_END, E820_RAM);
	if (cfg->acpi_bytes) {
		if (cfg->acpi_gpa < PLATFORM_LOW_RAM_END || cfg->acpi_gpa >= PLATFORM_HIGH_RAM_START ||
		    cfg->acpi_bytes > PLATFORM_HIGH_RAM_START - cfg->acpi_gpa)
			return reject(why, "ACPI region outside [0xA0000, 0x100000)", FERR_INVAL);
		if (cfg->rsdp_gpa < cfg->acpi_gpa || cfg->rsdp_gpa >= cfg->acpi_gpa + cfg->acpi_bytes)
			return reject(why, "RSDP outside the ACPI region", FERR_INVAL);
		e820_add(m, cfg->acpi_gpa, cfg->acpi_bytes, E820_ACPI);
	} else if (cfg->rsdp_gpa) {
		return reject(why, "RSDP without an ACPI region", FERR_INVAL);
	}
	e820_add(m, PLATFORM_HIGH_RAM_START, cfg->ram_bytes - PLATFORM_HIGH_RAM_START, E820_RAM);
	if (cfg->reserved_count > LINUX_MAX_RESERVED || (cfg->reserved_count && !cfg->reserved))
		return reject(why, "too many reserved ranges", FERR_INVAL);
	for (unsigned i = 0; i < cfg->reserved_count; i++) {
		const struct linux_e820_range *r = &cfg->reserved[i];
		if (r->bytes == 0 || r->base < cfg->ram_bytes || r->bytes > UINT64_MAX - r->base)
			return reject(why, "a reserved range overlaps RAM or wraps", FERR_INVAL);
		for (unsigned j = 0; j < i; j++)
			if (overlaps(r->base, r->bytes, cfg->reserved[j].base, cfg->reserved[j].bytes))
				return reject(why, "reserved ranges overlap", FERR_INVAL);
		e820_add(m, r->base, r->bytes, E820_RESERVED);
	}
	return 0;
}

/* ---- placement ------------------------------------------------------------------------------ */
struct placement {
	uint64_t kernel_end, initrd_gpa;
	size_t cmdline_len;
};

static int place(const struct linux_bzimage *k, const struct linux_boot_config *cfg,
		 struct placement *p, const char **why)
{
	if (cfg->ram_bytes % PT_PAGE_4K || cfg->ram_bytes > PLATFORM_RAM_MAX)
		return reject(why, "guest RAM not a multiple of 4 KiB, or above 3 GiB", FERR_INVAL);
	if (cfg->ram_bytes <= PLATFORM_HIGH_RAM_START)
		return reject(why, "guest RAM below 1 MiB", FERR_NOMEM);
	/* The kernel needs init_size from its load address before it reads the e820 map (what
	 * it needs to run on is linux_min_ram_bytes(), the caller's policy). */
	p->kernel_end = k->load_gpa + k->init_size;
	if (p->kernel_end > cfg->ram_bytes)
		return reject(why, "guest RAM too small for the kernel's init_size", FERR_NOMEM);

	p->cmdline_len = 0;
	while (cfg->cmdline && p->cmdline_len < LINUX_CMDLINE_MAX && cfg->cmdline[p->cmdline_len])
		p->cmdline_len++;
	if (p->cmdline_len > k->cmdline_max || p->cmdline_len >= LINUX_CMDLINE_MAX)
		return reject(why, "command line longer than the kernel accepts", FERR_TOOBIG);

	p->initrd_gpa = 0;
	if (cfg->initrd_bytes) {
		if (!cfg->initrd)
			return reject(why, "initramfs missing", FERR_INVAL);
		/* At the top of RAM, below initrd_addr_max (the highest byte it may use). */
		uint64_t top = cfg->ram_bytes;
		if ((uint64_t)k->initrd_addr_max + 1 < top)
			top = (uint64_t)k->initrd_addr_max + 1;
		if (cfg->initrd_bytes > top)
			return reject(why, "guest RAM too small for the initramfs", FERR_NOMEM);
		p->initrd_gpa = align_down(top - cfg->initrd_bytes, PT_PAGE_4K);
		if (p->initrd_gpa < p->kernel_end)
			return reject(why, "guest RAM too small for the kernel and the initramfs", FERR_NOMEM);
	}
	return 0;
}

/* ---- what goes into RAM ---------------------------------------------------------------------- */
static void build_page_tables(uint8_t *ram)
{
	memset(ram + LINUX_PML4_GPA, 0, (2 + PD_COUNT) * PT_PAGE_4K);
	put64(ram + LINUX_PML4_GPA, PDPT_GPA | PTE_PRESENT | PTE_WRITABLE);
	for (uint64_t d = 0; d < PD_COUNT; d++)
		put64(ram + PDPT_GPA + PT_ENTRY_BYTES * d,
		      (PD_GPA + d * PT_PAGE_4K) | PTE_PRESENT | PTE_WRITABLE);
	for (uint64_t gpa = 0; gpa < IDENTITY_MAP_BYTES; gpa += PT_PAGE_2M)
		put64(ram + PD_GPA + PT_ENTRY_BYTES * (gpa / PT_PAGE_2M),
		      gpa | PTE_PRESENT | PTE_WRITABLE | PTE_LARGE);
}

static void build_gdt_and_tss(uint8_t *ram)
{
	uint8_t *gdt = ram + LINUX_GDT_GPA, *tss = ram + LINUX_TSS_GPA;

	memset(gdt, 0, GDT_BYTES);
	memset(tss, 0, TSS64_BYTES);
	put64(gdt + LINUX_BOOT_CS, x86_segment_descriptor(0, DESC_LIMIT_FLAT, X86_CODE64_ACCESS));
	put64(gdt + LINUX_BOOT_DS, x86_segment_descriptor(0, DESC_LIMIT_FLAT, X86_DATA_ACCESS));
	put64(gdt + LINUX_BOOT_TR, x86_segment_descriptor((uint32_t)LINUX_TSS_GPA, TSS64_BYTES - 1, X86_TSS64_ACCESS));
	put64(gdt + LINUX_BOOT_TR + 8, LINUX_TSS_GPA >> 32);
	/* An I/O map base at the TSS limit means "no I/O permission bitmap". */
	put16(tss + TSS64_IOMAP_BASE_OFFSET, TSS64_BYTES);
}

static void fill_boot_params(const uint8_t *image, const struct linux_bzimage *k,
			     const struct linux_boot_config *cfg, const struct placement *p,
			     const struct e820_map *m, uint8_t *bp)
{
	memset(bp, 0, BP_BYTES);
	/* The setup header, as the kernel wrote it; then the fields a loader writes. */
	memcpy(bp + HDR_START, image + HDR_START, k->header_end - HDR_START);
	put16(bp + HDR_VID_MODE, VID_MODE_NORMAL);
	bp[HDR_TYPE_OF_LOADER] = LOADER_UNDEFINED;
	put32(bp + HDR_CODE32_START, (uint32_t)k->load_gpa);
	put32(bp + HDR_CMD_LINE_PTR, (uint32_t)LINUX_CMDLINE_GPA);
	put32(bp + BP_EXT_CMD_LINE_PTR, 0);
	put32(bp + HDR_RAMDISK_IMAGE, (uint32_t)p->initrd_gpa);
	put32(bp + HDR_RAMDISK_SIZE, (uint32_t)cfg->initrd_bytes);
	put32(bp + BP_EXT_RAMDISK_IMAGE, 0);   /* RAM ends below 4 GiB */
	put32(bp + BP_EXT_RAMDISK_SIZE, 0);
	put64(bp + BP_ACPI_RSDP_ADDR, cfg->rsdp_gpa);
	bp[BP_E820_ENTRIES] = (uint8_t)m->count;
	for (unsigned i = 0; i < m->count; i++) {
		uint8_t *e = bp + BP_E820_TABLE + E820_ENTRY_BYTES * i;
		put64(e, m->e[i].base);
		put64(e + 8, m->e[i].bytes);
		put32(e + 16, m->e[i].type);
	}
}

int linux_load(const void *image, size_t image_len, const struct linux_boot_config *cfg,
	       uint8_t *ram, struct linux_entry_state *entry, const char **why)
{
	struct linux_bzimage k;
	struct placement p;
	struct e820_map map;
	int err;

	if ((err = linux_parse_bzimage(image, image_len, &k, why)) != 0)
		return err;
	if ((err = place(&k, cfg, &p, why)) != 0)
		return err;
	if ((err = build_e820(cfg, &map, why)) != 0)
		return err;

	/* Valid: from here on only writes into RAM. */
	const uint8_t *bytes = image;
	memcpy(ram + k.load_gpa, bytes + k.setup_bytes, k.kernel_bytes);
	if (cfg->initrd_bytes)
		memcpy(ram + p.initrd_gpa, cfg->initrd, cfg->initrd_bytes);
	memset(ram + LINUX_CMDLINE_GPA, 0, LINUX_CMDLINE_MAX);
	if (p.cmdline_len)
		memcpy(ram + LINUX_CMDLINE_GPA, cfg->cmdline, p.cmdline_len);
	fill_boot_params(bytes, &k, cfg, &p, &map, ram + LINUX_BOOT_PARAMS_GPA);
	build_page_tables(ram);
	build_gdt_and_tss(ram);

	*entry = (struct linux_entry_state){
		.cpu = {
			.rip = k.load_gpa + ENTRY_64_OFFSET,
			.rsp = LINUX_STACK_TOP_GPA,
			.rsi = LINUX_BOOT_PARAMS_GPA,
			.rflags = RFLAGS_FIXED1,   /* IF clear: interrupts off */
			.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG,
			.cr3 = LINUX_PML4_GPA,
			.cr4 = CR4_PAE,
			.efer = EFER_LME | EFER_LMA,
			.gdt_base = LINUX_GDT_GPA,
			.gdt_limit = GDT_BYTES - 1,
			.tr_base = LINUX_TSS_GPA,
			.tr_limit = TSS64_BYTES - 1,
			.cs_selector = LINUX_BOOT_CS,
			.ds_selector = LINUX_BOOT_DS,
			.tr_selector = LINUX_BOOT_TR,
			.cs_access = X86_CODE64_ACCESS,
			.ds_access = X86_DATA_ACCESS,
			.tr_access = X86_TSS64_ACCESS,
		},
		.kernel_gpa = k.load_gpa,
		.kernel_end = p.kernel_end,
		.initrd_gpa = p.initrd_gpa,
		.initrd_bytes = cfg->initrd_bytes,
		.boot_params_gpa = LINUX_BOOT_PARAMS_GPA,
		.cmdline_gpa = LINUX_CMDLINE_GPA,
	};
	if (why)
		*why = NULL;
	return 0;
}
