/*
 * hearthctl's own documentation, made from the command table (hearthctl.c)
 * so it cannot fall behind the commands:
 *
 *   completion bash   a bash completion script: the command names, the global
 *                     options, each command's options (the --words of its
 *                     usage text) and first words (the a|b|c of its synopsis)
 *   man               the manual page in roff; docs/hearthctl.1 is its output
 *                     and a test keeps the two equal
 */
#include "ctl/ctl.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define WORDS_MAX 1024

/* Append word (wlen bytes) to the space-separated list out unless it is there already. */
static void add_word(char *out, size_t len, const char *word, size_t wlen)
{
    char w[128];
    size_t o = strlen(out);
    if (wlen == 0 || wlen >= sizeof w || o + wlen + 2 > len) return; /* a convenience: no room */
    memcpy(w, word, wlen);
    w[wlen] = '\0';
    for (const char *p = out; (p = strstr(p, w)) != NULL; p++)
        if ((p == out || p[-1] == ' ') && (p[wlen] == ' ' || p[wlen] == '\0')) return;
    if (o) out[o++] = ' ';
    memcpy(out + o, w, wlen + 1);
}

/* Add the --options a usage text names to out. */
static void usage_options(const char *usage, char *out, size_t len)
{
    for (const char *p = usage; (p = strstr(p, "--")) != NULL;) {
        size_t n = 2;
        while (islower((unsigned char)p[n]) || p[n] == '-')
            n++;
        if (n > 2 && p[n - 1] != '-') add_word(out, len, p, n);
        p += n;
    }
}

/* The alternatives of a synopsis's second word ("revoke jti|sid|user ID": jti sid user). */
static void first_words(const char *synopsis, char *out, size_t len)
{
    const char *w = strchr(synopsis, ' ');
    out[0] = '\0';
    if (!w) return;
    size_t n = strcspn(++w, " ");
    if (!memchr(w, '|', n)) return;
    while (n > 0) {
        size_t k = strcspn(w, "| ");
        if (k > n) k = n;
        add_word(out, len, w, k);
        w += k + 1;
        n = n > k ? n - k - 1 : 0;
    }
}

static void print_completion(FILE *f)
{
    static const struct option globals[] = {CTL_GLOBAL_LONGOPTS, {NULL, 0, NULL, 0}};
    char names[WORDS_MAX] = "help", gopts[WORDS_MAX] = "--version", valued[WORDS_MAX] = "";
    char words[WORDS_MAX];

    for (size_t i = 0; i < ctl_n_commands; i++)
        add_word(names, sizeof names, ctl_commands[i].name, strlen(ctl_commands[i].name));
    for (const struct option *o = globals; o->name; o++) {
        char w[64];
        snprintf(w, sizeof w, "--%s", o->name);
        add_word(gopts, sizeof gopts, w, strlen(w));
        if (o->has_arg == required_argument) add_word(valued, sizeof valued, w, strlen(w));
    }
    for (char *p = valued; (p = strchr(p, ' ')) != NULL;)
        *p = '|';
    fprintf(f,
            "# bash completion for hearthctl (made by `hearthctl completion bash`)\n"
            "_hearthctl() {\n"
            "    local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
            "    local i cmd=\"\" at=0 opts=\"\" subs=\"\"\n"
            "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
            "        case \"${COMP_WORDS[i]}\" in\n"
            "        %s) ((i++)) ;;\n"
            "        -*) ;;\n"
            "        *) cmd=\"${COMP_WORDS[i]}\"; at=$i; break ;;\n"
            "        esac\n"
            "    done\n"
            "    case \"$prev\" in\n"
            "    --cacert|--config) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
            "    --data-dir) COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n"
            "    %s) return ;;\n"
            "    esac\n"
            "    if [[ -z $cmd ]]; then\n"
            "        COMPREPLY=($(compgen -W \"%s %s\" -- \"$cur\"))\n"
            "        return\n"
            "    fi\n"
            "    case \"$cmd\" in\n",
            valued, valued, names, gopts);
    for (size_t i = 0; i < ctl_n_commands; i++) {
        const ctl_cmd *c = &ctl_commands[i];
        snprintf(words, sizeof words, "%s", gopts);
        usage_options(c->usage, words, sizeof words);
        fprintf(f, "    %s) opts=\"%s\"", c->name, words);
        first_words(c->synopsis, words, sizeof words);
        if (words[0]) fprintf(f, "; subs=\"%s\"", words);
        fputs(" ;;\n", f);
    }
    fprintf(f,
            "    help) opts=\"--help\"; subs=\"%s\" ;;\n"
            "    esac\n"
            "    if [[ $cur == -* ]]; then\n"
            "        COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
            "    elif ((COMP_CWORD == at + 1)) && [[ -n $subs ]]; then\n"
            "        COMPREPLY=($(compgen -W \"$subs\" -- \"$cur\"))\n"
            "    fi\n"
            "}\n"
            "complete -F _hearthctl hearthctl\n",
            names);
}

int ctl_cmd_completion(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv)
{
    int rc = ctl_parse_plain(ctx, cmd, argc, argv, 1, "the shell (bash)");
    if (rc != CTL_CONTINUE) return rc;
    if (strcmp(argv[optind], "bash") != 0)
        return ctl_usage_error(cmd, "only bash is supported, not '%s'", argv[optind]);
    print_completion(stdout);
    return CTL_EXIT_OK;
}

/* A two- or three-byte UTF-8 sequence at s as \[uXXXX]; the bytes it used, 0 if none. */
static int roff_utf8(FILE *f, const unsigned char *s)
{
    if ((s[0] & 0xe0) == 0xc0 && (s[1] & 0xc0) == 0x80) {
        fprintf(f, "\\[u%04X]", (unsigned)((s[0] & 0x1f) << 6 | (s[1] & 0x3f)));
        return 2;
    }
    if ((s[0] & 0xf0) == 0xe0 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80) {
        fprintf(f, "\\[u%04X]",
                (unsigned)((s[0] & 0x0f) << 12 | (s[1] & 0x3f) << 6 | (s[2] & 0x3f)));
        return 3;
    }
    return 0;
}

/* Text as roff lines inside .nf: backslashes, hyphens and non-ASCII escaped, no line read as a
 * request. */
static void roff_text(FILE *f, const char *s)
{
    int bol = 1, n;
    for (; *s; s++) {
        if (bol && (*s == '.' || *s == '\'')) fputs("\\&", f);
        if (*s == '\\')
            fputs("\\e", f);
        else if (*s == '-')
            fputs("\\-", f);
        else if ((unsigned char)*s >= 0x80 && (n = roff_utf8(f, (const unsigned char *)s)) > 0)
            s += n - 1;
        else
            fputc(*s, f);
        bol = *s == '\n';
    }
    if (!bol) fputc('\n', f);
}

/* The usage text of a command without the trailing global options hint. */
static void roff_usage(FILE *f, const char *usage)
{
    char buf[4096];
    const char *hint = strstr(usage, "\nGlobal options (");
    size_t n = hint ? (size_t)(hint - usage) : strlen(usage);
    if (n >= sizeof buf) n = sizeof buf - 1;
    memcpy(buf, usage, n);
    buf[n] = '\0';
    roff_text(f, buf);
}

static void print_man(FILE *f)
{
    char *main_usage = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&main_usage, &len);
    if (m) {
        ctl_print_main_usage(m);
        fclose(m);
    }
    fputs(
        ".\\\" Made by `hearthctl man` from the command table (src/ctl/hearthctl.c): do not edit.\n"
        ".TH HEARTHCTL 1 \"\" \"hearth\" \"hearth manual\"\n"
        ".SH NAME\n"
        "hearthctl \\- operate a running hearthd through its admin API\n"
        ".SH SYNOPSIS\n"
        ".B hearthctl\n"
        "[\\fIoptions\\fR] \\fICOMMAND\\fR [\\fIargs\\fR]\n"
        ".SH DESCRIPTION\n"
        ".nf\n",
        f);
    if (main_usage) roff_text(f, main_usage);
    fputs(".fi\n.SH COMMANDS\n", f);
    for (size_t i = 0; i < ctl_n_commands; i++) {
        const ctl_cmd *c = &ctl_commands[i];
        fputs(".SS ", f);
        roff_text(f, c->name);
        fputs(".nf\n", f);
        roff_usage(f, c->usage);
        if (c->routes) {
            fputs("\nAPI: ", f);
            roff_text(f, c->routes);
        }
        fputs(".fi\n", f);
    }
    fputs(
        ".SH ENVIRONMENT\n"
        ".TP\n.B HEARTH_URL\nhearthd's address when neither \\-\\-url nor \\-\\-config gives it.\n"
        ".TP\n.B HEARTH_ADMIN_KEY\nthe admin key when neither \\-\\-admin\\-key nor \\-\\-config "
        "gives it.\n"
        ".TP\n.B HEARTH_CACERT\nthe CA file for https when neither \\-\\-cacert nor \\-\\-config "
        "gives it.\n"
        ".SH FILES\n"
        ".TP\n.I <data dir>/admin.key\nthe admin key hearthd generates at its first start.\n"
        ".SH \"SEE ALSO\"\n"
        "docs/admin\\-api.md, docs/configuration.md in the hearth sources.\n",
        f);
    free(main_usage);
}

int ctl_cmd_man(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv)
{
    int rc = ctl_parse_plain(ctx, cmd, argc, argv, 0, NULL);
    if (rc != CTL_CONTINUE) return rc;
    print_man(stdout);
    return CTL_EXIT_OK;
}
