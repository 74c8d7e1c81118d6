/* glob.h - folder-path globs for permission rules.
 *
 * A glob is an absolute path pattern matched segment by segment:
 *   *    any characters within one segment (not '/')
 *   ?    one character within a segment
 *   **   as a whole segment: zero or more segments
 * A trailing "**" segment also matches the folder itself ("/app" "/" "**"
 * matches "/app"), and "/" "**" matches everything.  A trailing '/' on the glob
 * is ignored.  (Globs are split as "/" "**" in comments, where a slash-star
 * would open a comment.)
 * Paths are canonical (name_path_normalize).  Matching is linear-ish with a
 * bounded backtracking table, never exponential. */
#pragma once

#include <stdbool.h>

/* True if glob is well-formed: starts with '/', at most NAME_PATH_MAX bytes and
 * NAME_PATH_DEPTH segments, no empty or "." / ".." segments, only path
 * characters ([A-Za-z0-9_.-]), '*' and '?', '**' only as a whole segment. */
bool glob_valid(const char *glob);
bool glob_match(const char *glob, const char *path);
