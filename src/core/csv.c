/* CSV records (csv.h). */
#include "core/csv.h"

#include <string.h>

int xf_csv_next_record(char **at, char *end, xf_csv_record *r, int *line) {
    char *p = *at;
    if (p >= end) return 0;
    r->n = 0;
    for (;;) {
        if (r->n == XF_CSV_MAX_FIELDS) return -2;
        char *out = p, *start = p;
        r->field[r->n++] = start;
        if (p < end && *p == '"') {
            p++;
            for (;;) {
                if (p >= end) return -1;
                if (*p == '"' && p + 1 < end && p[1] == '"') *out++ = '"', p += 2;
                else if (*p == '"') { p++; break; }
                else {
                    if (*p == '\n') (*line)++;
                    *out++ = *p++;
                }
            }
            if (p < end && *p != ',' && *p != '\n' && *p != '\r') return -1;
        } else {
            while (p < end && *p != ',' && *p != '\n' && *p != '\r') *out++ = *p++;
        }
        int sep = p < end ? *p : '\n';
        if (p < end && *p == '\r') p++;
        if (p < end) p++;
        if (sep == '\r' && p < end && *p == '\n') p++;
        *out = 0;
        if (sep != ',') break;
    }
    *at = p;
    return 1;
}

int xf_csv_find_column(const xf_csv_record *header, const char *name) {
    for (int i = 0; i < header->n; i++)
        if (strcmp(header->field[i], name) == 0) return i;
    return -1;
}

xf_status xf_csv_next_data_record(char **at, char *end, xf_csv_record *r, int *line,
                                  int min_fields, int header_fields, const char *path,
                                  int *record_line) {
    for (;;) {
        *record_line = ++*line;
        int rc = xf_csv_next_record(at, end, r, line);
        if (rc == 0) {
            r->n = 0;
            return XF_OK;
        }
        if (rc < 0)
            return xf_fail(XF_EFORMAT, "%s: line %d: %s", path, *record_line,
                           rc == -1 ? "unterminated or malformed quoted field"
                                    : "too many fields");
        if (r->n == 1 && r->field[0][0] == 0) continue; /* blank line */
        if (r->n < min_fields)
            return xf_fail(XF_EFORMAT, "%s: line %d: %d fields, the header has %d", path,
                           *record_line, r->n, header_fields);
        return XF_OK;
    }
}
