#include <stdio.h>
int main(void) { puts("sev"); return 0; }
