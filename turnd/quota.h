/*
 * Allocation quotas: how many allocations each user key holds and how
 * many exist in total, shared by all workers under one mutex taken only
 * when an allocation is made or freed.  The user key is the static user's
 * name or, for TURN REST credentials, the part after the colon.
 */
#ifndef TURND_QUOTA_H
#define TURND_QUOTA_H

#include <stddef.h>
#include <stdint.h>

struct quota;

#define QUOTA_OK 0
#define QUOTA_USER (-1)
#define QUOTA_TOTAL (-2)
#define QUOTA_NOMEM (-3)

struct quota *quota_new(void);
void quota_free(struct quota *q);
/*
 * Counts one allocation for key unless that would pass per_user or total
 * (0 = unlimited).  Returns QUOTA_OK or a negative QUOTA_* reason.
 */
int quota_take(struct quota *q, const char *key, size_t key_len,
    uint32_t per_user, uint32_t total);
void quota_put(struct quota *q, const char *key, size_t key_len);
size_t quota_total(struct quota *q);
/* Users holding at least one allocation. */
size_t quota_users(struct quota *q);

#endif
