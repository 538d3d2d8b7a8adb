/*
 * guest_runner: runs a test-guest image on the host without VMX, so the guests
 * themselves can be tested (tests/test_guest_images.py).
 *
 * The image is loaded with guest_load_elf() into a memfd-backed "RAM". A forked,
 * ptrace'd child maps that RAM at its identity addresses (GPA x at address x; only
 * the first page stays unmapped, Linux's mmap_min_addr) and jumps to the entry
 * point in user mode. What a ring-3 process cannot do traps (SIGSEGV or SIGILL) and
 * the parent emulates it, then steps past the instruction:
 *   in/out (EC, ED, EE, EF, E4-E7, with 66 prefix): UART at 0x3F8 (LSR always
 *     ready), other ports read all ones, writes are dropped;
 *   vmcall and vmmcall (the guests pick by CPU vendor): FERRY_HC_CLOCK_NS
 *     (CLOCK_MONOTONIC), _PRINT, _YIELD; other numbers -> FERR_NOTSUP. Neither
 *     traps reliably at CPL 3: when this host is itself a KVM guest, KVM answers
 *     them with RAX = -1 (KVM_EPERM) and moves on. So before the start every
 *     0F 01 C1 and 0F 01 D9 in the executable segments is patched to UD2 + NOP
 *     (0F 0B 90), and a UD2 at a patched site is the hypercall (a byte pattern
 *     inside another instruction would be patched too; the guests' own tests
 *     would show that);
 *   mov from CR0/CR3/CR4 (0F 20 /r) gives the loader's values, mov to CR (0F 22) is
 *     ignored; cli/sti are ignored; hlt ends the run ("runner: guest halted");
 *   lidt (0F 01 /3) records the guest's IDT, iretq (48 CF) returns from a handler.
 * Any other fault, once the guest has loaded an IDT, is delivered to it as an
 * exception (SIGILL: #UD; SIGSEGV from #GP: #GP(0); other SIGSEGV: #PF), with the
 * frame a CPU pushes; a vector without a present gate becomes #GP, then #DF, then
 *   runner: triple fault vector=V            (exit status 4).
 * Before any lidt, a fault ends the run with
 *   runner: guest fault sig=N rip=0xR addr=0xA   (exit status 3).
 * Options:
 *   guest_runner IMAGE [ram_mib=16] [args="..."] [time_limit=S]
 *                [corrupt_ms=MS corrupt_offset=OFF]
 * corrupt_* flips the 8 bytes at (free_start rounded up to a page) + OFF once, MS
 * milliseconds into the run, and prints `runner: corrupted gpa=0x...`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "include/ferry/guest_abi.h"
#include "kernel/lib/errors.h"
#include "kernel/vm/loader_elf.h"

#define LOW_UNMAPPED 0x1000ull
#define UART_LSR_PORT (FERRY_UART_PORT + 5)
#define UART_LSR_READY 0x60   /* THR empty, transmitter empty */
#define HC_PRINT_MAX 4096
#define EXIT_GUEST_FAULT 3
#define EXIT_TRIPLE_FAULT 4
#define REX_W 0x8
#define REX_X 0x2
#define IDT_GATE_BYTES 16
#define IDT_GATE_PRESENT 0x80
#define ERROR_CODE_IDT 0x2
#define REX_B 0x1
#define REX_R 0x4

static pid_t child;
static volatile sig_atomic_t time_is_up;

static void on_alarm(int sig)
{
	(void)sig;
	time_is_up = 1;
	kill(child, SIGKILL);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const char *option(int argc, char **argv, const char *key)
{
	size_t n = strlen(key);
	for (int i = 2; i < argc; i++)
		if (!strncmp(argv[i], key, n) && argv[i][n] == '=')
			return argv[i] + n + 1;
	return NULL;
}

static uint8_t *ram;
static uint64_t ram_bytes;
static struct guest_entry_state entry;

static uint64_t port_read(uint16_t port, unsigned size)
{
	if (port == UART_LSR_PORT)
		return UART_LSR_READY;
	if (port >= FERRY_UART_PORT && port < FERRY_UART_PORT + 8)
		return 0;
	return size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffffull;
}

static void port_write(uint16_t port, uint64_t value)
{
	if (port == FERRY_UART_PORT) {
		putchar((int)(value & 0xff));
		if ((value & 0xff) == '\n')
			fflush(stdout);
	}
}

static uint64_t hypercall(uint64_t nr, uint64_t a0, uint64_t a1)
{
	switch (nr) {
	case FERRY_HC_CLOCK_NS:
		return now_ns();
	case FERRY_HC_PRINT:
		if (a1 > HC_PRINT_MAX || a0 > ram_bytes || a1 > ram_bytes - a0 || a0 < LOW_UNMAPPED)
			return (uint64_t)(int64_t)FERR_INVAL;
		fwrite(ram + a0, 1, a1, stdout);
		fflush(stdout);
		return 0;
	case FERRY_HC_YIELD:
		return 0;
	default:
		return (uint64_t)(int64_t)FERR_NOTSUP;
	}
}

static unsigned long long *gpr(struct user_regs_struct *r, unsigned n)
{
	unsigned long long *table[16] = { &r->rax, &r->rcx, &r->rdx, &r->rbx, &r->rsp, &r->rbp,
					  &r->rsi, &r->rdi, &r->r8, &r->r9, &r->r10, &r->r11,
					  &r->r12, &r->r13, &r->r14, &r->r15 };
	return table[n & 15];
}

static void set_in_result(struct user_regs_struct *r, uint64_t v, unsigned size)
{
	if (size == 1)
		r->rax = (r->rax & ~0xffull) | (v & 0xff);
	else if (size == 2)
		r->rax = (r->rax & ~0xffffull) | (v & 0xffff);
	else
		r->rax = v & 0xffffffffull;   /* 32-bit results zero-extend */
}

#define MAX_PATCHED 256
static uint64_t patched[MAX_PATCHED];
static unsigned patched_count;

static int is_patched_vmcall(uint64_t rip)
{
	for (unsigned i = 0; i < patched_count; i++)
		if (patched[i] == rip)
			return 1;
	return 0;
}

#define MODRM_VMCALL  0xc1   /* 0F 01 C1 */
#define MODRM_VMMCALL 0xd9   /* 0F 01 D9 */

/* Replaces VMCALL and VMMCALL with UD2; NOP in the image's executable PT_LOAD segments. */
static void patch_vmcalls(const uint8_t *image, size_t image_len)
{
	uint64_t phoff, i;
	uint16_t phnum;

	memcpy(&phoff, image + 32, 8);
	memcpy(&phnum, image + 56, 2);
	for (i = 0; i < phnum; i++) {
		const uint8_t *ph = image + phoff + i * 56;   /* validated by guest_load_elf */
		uint32_t type, flags;
		uint64_t gpa, filesz;
		memcpy(&type, ph, 4);
		memcpy(&flags, ph + 4, 4);
		memcpy(&gpa, ph + 16, 8);
		memcpy(&filesz, ph + 32, 8);
		if (type != 1 || !(flags & 1) || filesz < 3)
			continue;
		for (uint64_t a = gpa; a + 3 <= gpa + filesz && patched_count < MAX_PATCHED; a++) {
			if (ram[a] == 0x0f && ram[a + 1] == 0x01 &&
			    (ram[a + 2] == MODRM_VMCALL || ram[a + 2] == MODRM_VMMCALL)) {
				ram[a + 1] = 0x0b;
				ram[a + 2] = 0x90;
				patched[patched_count++] = a;
			}
		}
	}
	(void)image_len;
}

static int idt_loaded;
static uint64_t idt_base;
static uint16_t idt_limit;

static uint64_t ram_get(uint64_t gpa, unsigned bytes)
{
	uint64_t v = 0;
	if (gpa < LOW_UNMAPPED || gpa > ram_bytes || bytes > ram_bytes - gpa)
		return 0;
	memcpy(&v, ram + gpa, bytes);
	return v;
}

static int ram_put64(uint64_t gpa, uint64_t v)
{
	if (gpa < LOW_UNMAPPED || gpa > ram_bytes - 8)
		return 0;
	memcpy(ram + gpa, &v, 8);
	return 1;
}

/* The address of a ModRM memory operand (64-bit addressing); 0 for a register operand.
 * *len gets the ModRM/SIB/displacement length; RIP-relative needs the next RIP, so
 * *rip_relative tells the caller to add it. */
static int modrm_address(struct user_regs_struct *r, const uint8_t *m, unsigned rex, uint64_t *ea,
			 unsigned *len, int *rip_relative)
{
	unsigned mod = m[0] >> 6, rm = m[0] & 7;
	*len = 1;
	*rip_relative = 0;
	*ea = 0;
	if (mod == 3)
		return 0;
	if (rm == 4) {
		uint8_t sib = m[1];
		unsigned base = (sib & 7) | (rex & REX_B ? 8 : 0);
		unsigned index = ((sib >> 3) & 7) | (rex & REX_X ? 8 : 0);
		*len = 2;
		if (index != 4)
			*ea = *gpr(r, index) << (sib >> 6);
		if ((sib & 7) == 5 && mod == 0) {
			*ea += (uint64_t)(int64_t)(int32_t)ram_get((uint64_t)(m + 2 - ram), 4);
			*len += 4;
		} else {
			*ea += *gpr(r, base);
		}
	} else if (rm == 5 && mod == 0) {
		*ea = (uint64_t)(int64_t)(int32_t)ram_get((uint64_t)(m + 1 - ram), 4);
		*len += 4;
		*rip_relative = 1;
		return 1;
	} else {
		*ea = *gpr(r, rm | (rex & REX_B ? 8 : 0));
	}
	if (mod == 1) {
		*ea += (uint64_t)(int64_t)(int8_t)m[*len];
		*len += 1;
	} else if (mod == 2) {
		*ea += (uint64_t)(int64_t)(int32_t)ram_get((uint64_t)(m + *len - ram), 4);
		*len += 4;
	}
	return 1;
}

/* Delivers an exception through the guest's IDT as a CPU does in 64-bit mode (SDM
 * Vol. 3A 6.14): RSP aligned down to 16, then SS, RSP, RFLAGS, CS, RIP and, for some
 * vectors, an error code. Returns 0 on a triple fault. */
static int deliver_exception(struct user_regs_struct *r, unsigned vector, int has_error, uint64_t error)
{
	/* A vector without a usable gate turns into #GP (error code: vector, IDT bit),
	 * a #GP without one into #DF, and a #DF without one is a triple fault. */
	while (1) {
		uint64_t gate = idt_base + (uint64_t)vector * IDT_GATE_BYTES;
		if ((uint64_t)vector * IDT_GATE_BYTES + IDT_GATE_BYTES - 1 <= idt_limit &&
		    (ram_get(gate + 5, 1) & IDT_GATE_PRESENT))
			break;
		if (vector == VECTOR_DF)
			return 0;
		error = vector == VECTOR_GP ? 0 : (uint64_t)vector * 8 + ERROR_CODE_IDT;
		vector = vector == VECTOR_GP ? VECTOR_DF : VECTOR_GP;
		has_error = 1;
	}
	uint64_t gate = idt_base + (uint64_t)vector * IDT_GATE_BYTES;
	uint64_t handler = ram_get(gate, 2) | ram_get(gate + 6, 2) << 16 | ram_get(gate + 8, 4) << 32;
	uint64_t frame[] = { r->ss, r->rsp, r->eflags, r->cs, r->rip, error };
	unsigned n = has_error ? 6 : 5;
	uint64_t sp = r->rsp & ~0xfull;

	for (unsigned i = 0; i < n; i++) {
		sp -= 8;
		if (!ram_put64(sp, frame[i]))
			return 0;
	}
	r->rsp = sp;
	r->rip = handler;
	return 1;
}

/* Emulates the instruction at rip; returns its length, or 0 if it is not ours. */
static unsigned emulate(struct user_regs_struct *r, int *halted)
{
	uint64_t rip = r->rip;
	if (rip < LOW_UNMAPPED || rip > ram_bytes - 16)
		return 0;
	const uint8_t *p = ram + rip;
	unsigned len = 0, size = 4, rex = 0;

	if (p[0] == 0x66) {
		size = 2;
		len++;
	}
	if ((p[len] & 0xf0) == 0x40)
		rex = p[len++];
	uint8_t op = p[len];
	uint16_t dx = (uint16_t)r->rdx;
	switch (op) {
	case 0xec: set_in_result(r, port_read(dx, 1), 1); return len + 1;
	case 0xed: set_in_result(r, port_read(dx, size), size); return len + 1;
	case 0xee: port_write(dx, r->rax & 0xff); return len + 1;
	case 0xef: port_write(dx, r->rax & (size == 2 ? 0xffff : 0xffffffff)); return len + 1;
	case 0xe4: set_in_result(r, port_read(p[len + 1], 1), 1); return len + 2;
	case 0xe5: set_in_result(r, port_read(p[len + 1], size), size); return len + 2;
	case 0xe6: port_write(p[len + 1], r->rax & 0xff); return len + 2;
	case 0xe7: port_write(p[len + 1], r->rax); return len + 2;
	case 0xfa: case 0xfb: return len + 1;      /* cli, sti */
	case 0xf4: *halted = 1; return len + 1;    /* hlt */
	case 0xcf:                                  /* iretq */
		if (!(rex & REX_W))
			return 0;
		r->rip = ram_get(r->rsp, 8);
		r->rsp = ram_get(r->rsp + 24, 8);
		return UINT32_MAX;                  /* RIP set: do not advance */
	case 0x0f:
		break;
	default:
		return 0;
	}
	uint8_t op2 = p[len + 1], modrm = p[len + 2];
	if ((op2 == 0x01 && (modrm == MODRM_VMCALL || modrm == MODRM_VMMCALL)) ||
	    (op2 == 0x0b && is_patched_vmcall(rip))) {
		r->rax = hypercall(r->rax, r->rdi, r->rsi);
		return len + 3;
	}
	if (op2 == 0x01 && (modrm >> 6) != 3 && ((modrm >> 3) & 7) == 3) {     /* lidt m16&64 */
		uint64_t ea;
		unsigned mlen;
		int rip_relative;
		modrm_address(r, p + len + 2, rex, &ea, &mlen, &rip_relative);
		unsigned total = len + 2 + mlen;
		if (rip_relative)
			ea += rip + total;
		idt_limit = (uint16_t)ram_get(ea, 2);
		idt_base = ram_get(ea + 2, 8);
		idt_loaded = 1;
		return total;
	}
	if ((op2 == 0x20 || op2 == 0x22) && (modrm & 0xc0) == 0xc0) {
		unsigned cr = ((modrm >> 3) & 7) | (rex & REX_R ? 8 : 0);
		unsigned reg = (modrm & 7) | (rex & REX_B ? 8 : 0);
		if (op2 == 0x20)
			*gpr(r, reg) = cr == 0 ? entry.cpu.cr0 : cr == 3 ? entry.cpu.cr3 : cr == 4 ? entry.cpu.cr4 : 0;
		return len + 3;
	}
	return 0;
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
	if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(b);
		return NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return b;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: guest_runner IMAGE [ram_mib=16] [args=...] [time_limit=S] "
				"[corrupt_ms=MS corrupt_offset=OFF]\n");
		return 2;
	}
	const char *o;
	ram_bytes = ((o = option(argc, argv, "ram_mib")) ? strtoull(o, NULL, 0) : 16) << 20;
	const char *args = option(argc, argv, "args");
	unsigned time_limit = (o = option(argc, argv, "time_limit")) ? (unsigned)atoi(o) : 0;
	long corrupt_ms = (o = option(argc, argv, "corrupt_ms")) ? atol(o) : -1;
	uint64_t corrupt_offset = (o = option(argc, argv, "corrupt_offset")) ? strtoull(o, NULL, 0) : 0;

	size_t image_len;
	uint8_t *image = read_file(argv[1], &image_len);
	if (!image) {
		perror(argv[1]);
		return 2;
	}
	int fd = memfd_create("guest-ram", 0);
	if (fd < 0 || ftruncate(fd, (off_t)ram_bytes) < 0) {
		perror("memfd");
		return 2;
	}
	ram = mmap(NULL, ram_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ram == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	const char *why = NULL;
	int err = guest_load_elf(image, image_len, ram, ram_bytes, args, 1000000000ull, &entry, &why);
	if (err) {
		printf("runner: load failed: %s (%s)\n", why, err_name(err));
		return 2;
	}
	patch_vmcalls(image, image_len);
	printf("runner: patched %u vmcall sites\n", patched_count);
	printf("runner: loaded entry=0x%llx free_start=0x%llx ram=%llu\n",
	       (unsigned long long)entry.cpu.rip, (unsigned long long)entry.free_start,
	       (unsigned long long)ram_bytes);
	fflush(stdout);

	child = fork();
	if (child < 0) {
		perror("fork");
		return 2;
	}
	if (child == 0) {
		void *at = mmap((void *)(uintptr_t)LOW_UNMAPPED, ram_bytes - LOW_UNMAPPED,
				PROT_READ | PROT_WRITE | PROT_EXEC, MAP_SHARED | MAP_FIXED_NOREPLACE,
				fd, (off_t)LOW_UNMAPPED);
		if (at != (void *)(uintptr_t)LOW_UNMAPPED) {
			perror("child: mapping guest RAM at its identity address");
			_exit(2);
		}
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		raise(SIGSTOP);
		_exit(2);   /* not reached: the parent moved RIP into the guest */
	}

	int status;
	if (waitpid(child, &status, 0) < 0 || !WIFSTOPPED(status)) {
		fprintf(stderr, "runner: child did not stop\n");
		return 2;
	}
	ptrace(PTRACE_SETOPTIONS, child, NULL, (void *)(uintptr_t)PTRACE_O_EXITKILL);
	struct user_regs_struct regs;
	ptrace(PTRACE_GETREGS, child, NULL, &regs);
	regs.rip = entry.cpu.rip;
	regs.rsp = entry.cpu.rsp;
	regs.rsi = entry.cpu.rsi;
	regs.rdi = regs.rax = regs.rbx = regs.rcx = regs.rdx = regs.rbp = 0;
	ptrace(PTRACE_SETREGS, child, NULL, &regs);

	signal(SIGALRM, on_alarm);
	if (time_limit)
		alarm(time_limit);
	uint64_t start = now_ns();
	int exit_code = 0, deliver = 0;

	for (;;) {
		if (ptrace(PTRACE_CONT, child, NULL, (void *)(uintptr_t)deliver) < 0 && errno != ESRCH)
			break;
		deliver = 0;
		if (waitpid(child, &status, 0) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			if (time_is_up)
				printf("runner: time limit\n");
			else
				printf("runner: guest process ended status=0x%x\n", status), exit_code = 2;
			break;
		}
		int sig = WSTOPSIG(status);
		if (sig != SIGSEGV && sig != SIGILL && sig != SIGBUS) {
			deliver = sig == SIGSTOP ? 0 : sig;
			continue;
		}
		if (corrupt_ms >= 0 && now_ns() - start >= (uint64_t)corrupt_ms * 1000000ull) {
			uint64_t gpa = ((entry.free_start + 0xfff) & ~0xfffull) + (corrupt_offset & ~7ull);
			if (gpa + 8 <= ram_bytes) {
				for (int i = 0; i < 8; i++)
					ram[gpa + i] ^= 0xff;
				printf("runner: corrupted gpa=0x%llx\n", (unsigned long long)gpa);
			}
			corrupt_ms = -1;
		}
		/* Fails when the time limit killed the child meanwhile; waitpid reaps it. */
		if (ptrace(PTRACE_GETREGS, child, NULL, &regs) < 0)
			continue;
		int halted = 0;
		unsigned len = emulate(&regs, &halted);
		if (halted) {
			printf("runner: guest halted\n");
			break;
		}
		if (!len && idt_loaded) {
			siginfo_t info;
			ptrace(PTRACE_GETSIGINFO, child, NULL, &info);
			unsigned vector = sig == SIGILL ? VECTOR_UD :
					  info.si_code == SI_KERNEL ? VECTOR_GP : VECTOR_PF;
			if (!deliver_exception(&regs, vector, vector != VECTOR_UD, 0)) {
				printf("runner: triple fault vector=%u rip=0x%llx\n", vector,
				       (unsigned long long)regs.rip);
				exit_code = EXIT_TRIPLE_FAULT;
				break;
			}
			ptrace(PTRACE_SETREGS, child, NULL, &regs);
			continue;
		}
		if (!len) {
			siginfo_t info;
			ptrace(PTRACE_GETSIGINFO, child, NULL, &info);
			printf("runner: guest fault sig=%d rip=0x%llx addr=0x%llx\n", sig,
			       (unsigned long long)regs.rip, (unsigned long long)(uintptr_t)info.si_addr);
			exit_code = EXIT_GUEST_FAULT;
			break;
		}
		if (len != UINT32_MAX)
			regs.rip += len;
		ptrace(PTRACE_SETREGS, child, NULL, &regs);
	}
	fflush(stdout);
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	return exit_code;
}
