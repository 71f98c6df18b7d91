/*
 * Translation of a coturn turnserver.conf into a turnd.conf, behind
 * `turnctl import-coturn FILE`.  Self-contained: it needs only libc, so
 * that turnctl links it without the daemon's libraries.
 */
#ifndef TURND_COTURN_H
#define TURND_COTURN_H

#include <stdio.h>

/*
 * Reads the coturn configuration in path ("-" reads stdin) and writes the
 * equivalent turnd configuration to out.  Everything that does not carry
 * over as is goes to warn, one line each, as "path:LINE: warning: ..." or
 * "path:LINE: error: ..." with coturn's line number (line 0 means the
 * file as a whole).  A placeholder such as external-ip=${EC2_PUBLIC_IP}
 * is kept verbatim for the deploy step that fills it, with a warning.
 *
 * Returns 0 when the output is complete, 1 when it is not: the file could
 * not be read, or something turnd needs is missing or wrong (an error line
 * says what), so that `turnd -n` would refuse the output.  The output is
 * written in either case, for the operator to finish by hand.
 */
int coturn_import(const char *path, FILE *out, FILE *warn);

#endif
