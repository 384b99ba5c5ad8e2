/* banned.h - functions we never call, made into compile errors.
 *
 * Each has a bounded or safer replacement: pb__strlcpy, pb__snprintf, strtol
 * with an end pointer, memchr-based splitting. Include this last in a .c file.
 */
#ifndef PB_BANNED_H
#define PB_BANNED_H

#define BANNED(func) sorry_##func##_is_banned_in_probity

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) BANNED(strncat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef strtok_r
#define strtok_r(x, y, z) BANNED(strtok_r)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef atol
#define atol(x) BANNED(atol)
#undef gets
#define gets(x) BANNED(gets)
#ifdef PB_LIBRARY /* the library takes its settings from the caller, never the environment */
#undef getenv
#define getenv(x) BANNED(getenv)
#endif

#endif /* PB_BANNED_H */
