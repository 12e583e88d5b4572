/* Records of a CSV file (RFC 4180: quotes, doubled quotes, CRLF), split in
 * place, for every reader of CSV files (analysis/csvpoints.c, zoo/us_csv.c). */
#ifndef XF_CSV_H
#define XF_CSV_H

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

/* The index of the header field `name`, or -1. */
int xf_csv_find_column(const xf_csv_record *header, const char *name);

#endif
