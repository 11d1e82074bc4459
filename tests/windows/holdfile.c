/* holdfile.exe FILE READY SECONDS: opens FILE with no sharing at all (as a database or a
   mail store may), creates READY once it holds it, and keeps it for SECONDS. The smoke
   test backs up FILE meanwhile: without a shadow copy, the read is a sharing violation. */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>

int wmain(int argc, wchar_t **argv) {
    if (argc != 4) { fprintf(stderr, "usage: holdfile FILE READY SECONDS\n"); return 2; }
    HANDLE held = CreateFileW(argv[1], GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    if (held == INVALID_HANDLE_VALUE) { fprintf(stderr, "cannot hold: %lu\n", GetLastError()); return 1; }
    HANDLE ready = CreateFileW(argv[2], GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    CloseHandle(ready);
    Sleep((DWORD)_wtoi(argv[3]) * 1000);
    CloseHandle(held);
    return 0;
}
