/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The hash map of backing keys (struct fs_key) that the node table, the
   inode numbers and the hardlink index use.  */
#include <stdlib.h>

#include "overlay/fusefs/internal.h"
#include "util/xalloc.h"

static size_t
key_hash (struct fs_key k)
{
  uint64_t h = (uint64_t) k.ino * 0x9e3779b97f4a7c15ULL;

  h ^= (uint64_t) k.dev + 0x632be59bd9b4e019ULL + (h << 6) + (h >> 2);
  return (size_t) (h ^ (h >> 29));
}

static bool
key_eq (struct fs_key a, struct fs_key b)
{
  return a.dev == b.dev && a.ino == b.ino;
}

struct fs_hentry *
fs_hmap_get (const struct fs_hmap *m, struct fs_key key)
{
  struct fs_hentry *e;

  if (m->n_buckets == 0)
    return NULL;
  for (e = m->buckets[key_hash (key) & (m->n_buckets - 1)]; e; e = e->next)
    if (key_eq (e->key, key))
      return e;
  return NULL;
}

static void
hmap_grow (struct fs_hmap *m)
{
  size_t nb = m->n_buckets ? m->n_buckets * 2 : 64;
  struct fs_hentry **b = xcalloc (nb, sizeof *b);
  size_t i;

  for (i = 0; i < m->n_buckets; i++)
    {
      struct fs_hentry *e = m->buckets[i];

      while (e)
        {
          struct fs_hentry *next = e->next;
          size_t j = key_hash (e->key) & (nb - 1);

          e->next = b[j];
          b[j] = e;
          e = next;
        }
    }
  free (m->buckets);
  m->buckets = b;
  m->n_buckets = nb;
}

void
fs_hmap_put (struct fs_hmap *m, struct fs_hentry *e)
{
  size_t j;

  if (m->n >= m->n_buckets)
    hmap_grow (m);
  j = key_hash (e->key) & (m->n_buckets - 1);
  e->next = m->buckets[j];
  m->buckets[j] = e;
  m->n++;
}

bool
fs_hmap_del (struct fs_hmap *m, struct fs_hentry *e)
{
  struct fs_hentry **p;

  if (m->n_buckets == 0)
    return false;
  for (p = &m->buckets[key_hash (e->key) & (m->n_buckets - 1)]; *p; p = &(*p)->next)
    if (*p == e)
      {
        *p = e->next;
        e->next = NULL;
        m->n--;
        return true;
      }
  return false;
}

void
fs_hmap_release (struct fs_hmap *m, void (*free_entry) (struct fs_hentry *))
{
  size_t i;

  for (i = 0; free_entry && i < m->n_buckets; i++)
    {
      struct fs_hentry *e = m->buckets[i];

      while (e)
        {
          struct fs_hentry *next = e->next;

          free_entry (e);
          e = next;
        }
    }
  free (m->buckets);
  *m = (struct fs_hmap){ 0 };
}
