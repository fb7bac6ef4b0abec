/* Rust's std on Windows gets random bytes from ProcessPrng in bcryptprimitives.dll, which
 * Wine 8.0 does not provide. This stand-in exports ProcessPrng on top of RtlGenRandom
 * (SystemFunction036 in advapi32), which Wine has. It is installed only in the project's
 * own Wine prefix, for running test binaries; nothing ships with it. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
