/* Records of a CSV file (RFC 4180: quotes, doubled quotes, CRLF), split in
 * place, for every reader of CSV files (analysis/csvpoints.c, zoo/us_csv.c). */
#ifndef XF_CSV_H
#define XF_CSV_H

#include "core/status.h"

enum { XF_CSV_MAX_FIELDS = 4096 };

/* One record's fields, unquoted in place (the buffer is the caller's). */
typedef struct {
    char *field[XF_CSV_MAX_FIELDS];
    int n;
} xf_csv_record;

/* Splits the record starting at *at (ending before end), advancing past its
 * line end; *line counts the newlines inside quoted fields. Returns 1 for a
 * record, 0 at the end of the data, -1 on a malformed record, -2 on too
 * many fields. */
int xf_csv_next_record(char **at, char *end, xf_csv_record *r, int *line);

/* The next record after the header that is not a blank line, with at
 * least `min_fields` fields (the header has `header_fields`); *line is the
 * caller's line counter (1 after the header), *record_line the line the
 * record starts on. At the end of the data r->n is 0. Errors name `path`
 * and the line. */
xf_status xf_csv_next_data_record(char **at, char *end, xf_csv_record *r, int *line,
                                  int min_fields, int header_fields, const char *path,
                                  int *record_line);

/* The index of the header field `name`, or -1. */
int xf_csv_find_column(const xf_csv_record *header, const char *name);

#endif
