/*
 * LD_PRELOAD shim for the usrsctp benchmark: usrsctp's best case.
 *
 * Debian builds libusrsctp with SCTP_DEBUG, and tsctp calls
 * usrsctp_sysctl_set_sctp_debug_on(SCTP_DEBUG_ALL) at start-up, so every packet formats
 * several debug lines; sending them to /dev/null does not remove the cost of formatting them.
 * This shim replaces that one call with a no-op: debug_on stays 0, the library's SCTPDBG macros
 * test it and format nothing. Nothing else of usrsctp changes.
 *
 * Built by bench/usrsctp.ts (quietLibrary) with the system C compiler:
 *   cc -shared -fPIC -O2 -o usrsctp-quiet.so bench/usrsctp-quiet.c
 */
#include <stdint.h>

int usrsctp_sysctl_set_sctp_debug_on(uint32_t value)
{
	(void)value;
	return 0;
}
