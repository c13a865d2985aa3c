/* Start-up secrets: the ticket MAC key (store) and the admin key (config or data dir). */
#ifndef HX_HEARTHD_KEYS_H
#define HX_HEARTHD_KEYS_H

#include "core/server.h"

/** Load or create the ticket key in the store. 0 or -1 with err. */
int hx_keys_ticket(hx_server *s, char *err, size_t errlen);
/** TURN REST secrets: turn.secrets, else (embedded mode) one generated once and kept in the store. */
int hx_keys_turn(hx_server *s, char *err, size_t errlen);
/** Admin key from the config, else <data_dir>/admin.key, generated when absent. */
int hx_keys_admin(hx_server *s, char *err, size_t errlen);

#endif
