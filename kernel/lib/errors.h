/*
 * Ferry's error values. Functions that can fail return 0 on success or a
 * negative ferry_err; callers handle them (panic() is only for broken invariants
 * of Ferry itself). err_name() gives a short stable text for messages.
 */
#ifndef FERRY_ERRORS_H
#define FERRY_ERRORS_H

enum ferry_err {
	FERR_OK = 0,
	FERR_INVAL = -1,     /* a malformed argument or input */
	FERR_NOMEM = -2,     /* no memory (frames or table slots) left */
	FERR_NOENT = -3,     /* no such object (guest, image, command) */
	FERR_EXIST = -4,     /* the name is in use */
	FERR_RANGE = -5,     /* a value out of its allowed range */
	FERR_NOTSUP = -6,    /* the hardware or the build lacks a feature */
	FERR_BUSY = -7,      /* the object is in a state that forbids this */
	FERR_IO = -8,        /* a device or link failed */
	FERR_PROTO = -9,     /* a peer broke the protocol */
	FERR_AUTH = -10,     /* authentication failed */
	FERR_TIMEOUT = -11,  /* a peer or device did not answer in time */
	FERR_TOOBIG = -12,   /* an input larger than its limit */
	FERR_PERM = -13,     /* not permitted to the caller (a hypercall from guest user mode) */
};

static inline const char *err_name(int err)
{
	switch (err) {
	case FERR_OK:      return "ok";
	case FERR_INVAL:   return "invalid argument";
	case FERR_NOMEM:   return "out of memory";
	case FERR_NOENT:   return "not found";
	case FERR_EXIST:   return "already exists";
	case FERR_RANGE:   return "out of range";
	case FERR_NOTSUP:  return "not supported";
	case FERR_BUSY:    return "busy";
	case FERR_IO:      return "i/o error";
	case FERR_PROTO:   return "protocol error";
	case FERR_AUTH:    return "authentication failed";
	case FERR_TIMEOUT: return "timed out";
	case FERR_TOOBIG:  return "too big";
	case FERR_PERM:    return "not permitted";
	default:           return "unknown error";
	}
}

#endif
