/* Token rules shared by the HTTP client's codec and socket loop (RFC 9110 §5.6). */
#ifndef HX_COMMON_HTTP_INTERNAL_H
#define HX_COMMON_HTTP_INTERNAL_H

#include <string.h>

/* tchar: the characters of a header name or method token (RFC 9110 §5.6.2). */
static inline int hx__http_is_tchar(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Trim optional whitespace (RFC 9110 §5.6.3) from both ends of [*s, *e). */
static inline void hx__http_trim_ows(const char **s, const char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t')) (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r')) (*e)--;
}

#endif
