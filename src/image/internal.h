/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Shared by the image module's files and their unit tests.  */

#include "image/image.h"

struct sbx_store
{
  char *root;
  int rootfd;   /* O_PATH */
  int blobsfd;  /* blobs/sha256, O_PATH */
  int layersfd; /* layers, O_PATH */
  int tmpfd;    /* tmp, O_PATH */
};

/* A unique name for a staging entry under tmp/: PREFIX-<pid>-<random>.  */
char *store_tmp_name (const char *prefix);
