/* Does not compile: a missing semicolon. */
#include <stdio.h>

int main(void) {
    long bytes = 0
    while (getchar() != EOF)
        bytes++;
    printf("0 0 %ld\n", bytes);
    return 0;
}
