/*
 * SQLite alone: what one event costs the outbox writer, inserted one statement per row, as
 * multi-row statements returning the new rows' seq, or as multi-row statements whose rows the
 * writer numbers itself, with the texts bound without a copy (what
 * OutboxTransaction.append(contentsOf:) does; docs/BENCHMARKS.md, "Multi-row inserts, numbered
 * rows without `RETURNING`"), or numbered as `INSERT OR FAIL`, which needs no statement journal
 * (what the outbox does now; "Chunk inserts without a statement journal").
 * The outbox's own schema, page size and settings, except that nothing is synced (this
 * measures CPU, not the disk). 300 transactions of 200 events, like the SFTP benchmark's
 * large set; prints the process CPU time per event.
 *
 *   cc -O2 -o /tmp/outbox_insert scripts/bench/outbox_insert.c -lsqlite3
 *   /tmp/outbox_insert single|multi|numbered|fail [ROWS_PER_STATEMENT=32] [PAYLOAD_BYTES=5300] [DB=/tmp/outbox_insert.db]
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *schema =
    "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;"
    "PRAGMA temp_store = MEMORY;"
    "CREATE TABLE event (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
    " partition_key TEXT NOT NULL, type TEXT NOT NULL, subject TEXT NOT NULL, source TEXT NOT NULL,"
    " file_name TEXT NOT NULL, bytes INTEGER NOT NULL CHECK (bytes >= 0),"
    " state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),"
    " created_at REAL NOT NULL, delivered_at REAL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT);"
    "CREATE INDEX event_pending ON event(seq) WHERE state = 'pending';"
    "CREATE INDEX event_delivered ON event(delivered_at) WHERE state = 'delivered';"
    "CREATE INDEX event_dead ON event(seq) WHERE state = 'dead';"
    "CREATE TABLE payload (seq INTEGER PRIMARY KEY, json BLOB NOT NULL);";

enum { FILES = 300, EVENTS_PER_FILE = 200, MAX_ROWS = 64 };

static double cpu_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void check(sqlite3 *db, int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql) {
    sqlite3_stmt *statement = NULL;
    check(db, sqlite3_prepare_v2(db, sql, -1, &statement, NULL) == SQLITE_OK, "prepare");
    return statement;
}

/* How texts are bound: copied by SQLite (TRANSIENT), or read where they are (STATIC). */
static sqlite3_destructor_type text_binding = SQLITE_TRANSIENT;

static void bind_event_columns(sqlite3_stmt *s, int first, const char *id, int bytes) {
    sqlite3_bind_text(s, first, id, -1, text_binding);
    sqlite3_bind_text(s, first + 1, "BENCHCLNT", -1, text_binding);
    sqlite3_bind_text(s, first + 2, "com.sap.idoc.orders", -1, text_binding);
    sqlite3_bind_text(s, first + 3, "ORDERS05/0000000000001234", -1, text_binding);
    sqlite3_bind_int64(s, first + 4, bytes);
}

/* One event, two statements: the event row, then its payload under the new seq. */
static void insert_single(sqlite3 *db, sqlite3_stmt *event, sqlite3_stmt *payload, const char *id,
                          const char *json, int bytes) {
    bind_event_columns(event, 1, id, bytes);
    sqlite3_bind_text(event, 6, "bench-sftp", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(event, 7, "file-000123.xml", -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(event, 8, 1.7e9);
    check(db, sqlite3_step(event) == SQLITE_DONE, "event insert");
    sqlite3_reset(event);
    sqlite3_clear_bindings(event);
    if (sqlite3_changes(db) == 0) return;
    sqlite3_bind_int64(payload, 1, sqlite3_last_insert_rowid(db));
    sqlite3_bind_blob(payload, 2, json, bytes, SQLITE_STATIC);
    check(db, sqlite3_step(payload) == SQLITE_DONE, "payload insert");
    sqlite3_reset(payload);
    sqlite3_clear_bindings(payload);
}

/* The seq the next row gets when the writer numbers them: above every one handed out. */
static sqlite3_int64 next_seq(sqlite3 *db, sqlite3_stmt *query) {
    check(db, sqlite3_step(query) == SQLITE_ROW, "next seq");
    sqlite3_int64 seq = sqlite3_column_int64(query, 0);
    sqlite3_reset(query);
    return seq;
}

/* `rows` events, two statements: the event rows (RETURNING seq, or numbered by the writer
 * when `next` is given), then all payloads. */
static void insert_multi(sqlite3 *db, sqlite3_stmt *events, sqlite3_stmt *payloads, sqlite3_stmt *next, int rows,
                         int first_id, const char *json, int bytes) {
    static char ids[MAX_ROWS][64];
    sqlite3_int64 seqs[MAX_ROWS];
    sqlite3_int64 first = next ? next_seq(db, next) : 0;
    int stride = next ? 6 : 5;
    sqlite3_bind_text(events, 1, "bench-sftp", -1, text_binding);
    sqlite3_bind_text(events, 2, "file-000123.xml", -1, text_binding);
    sqlite3_bind_double(events, 3, 1.7e9);
    for (int row = 0; row < rows; row++) {
        snprintf(ids[row], sizeof ids[row], "ORDERS05:100:%016d", first_id + row);
        bind_event_columns(events, 4 + stride * row, ids[row], bytes);
        if (next) sqlite3_bind_int64(events, 4 + stride * row + 5, seqs[row] = first + row);
    }
    int added = 0, code;
    while ((code = sqlite3_step(events)) == SQLITE_ROW) seqs[added++] = sqlite3_column_int64(events, 0);
    check(db, code == SQLITE_DONE, "event insert");
    sqlite3_reset(events);
    sqlite3_clear_bindings(events);
    if (next) added = sqlite3_changes(db);
    check(db, added == rows, "every row new");
    for (int row = 0; row < added; row++) {
        sqlite3_bind_int64(payloads, 1 + 2 * row, seqs[row]);
        sqlite3_bind_blob(payloads, 2 + 2 * row, json, bytes, SQLITE_STATIC);
    }
    check(db, sqlite3_step(payloads) == SQLITE_DONE, "payload insert");
    sqlite3_reset(payloads);
    sqlite3_clear_bindings(payloads);
}

/* The multi-row statements for `rows` events: the event rows, sharing source, file name and
 * time (?1 – ?3), then the payloads. */
static void prepare_multi(sqlite3 *db, int rows, int numbered, int fail, sqlite3_stmt **events, sqlite3_stmt **payloads) {
    static char sql[MAX_ROWS * 64 + 512];
    int length = snprintf(sql, sizeof sql, "INSERT %sINTO event (id, partition_key, type, subject, bytes, %ssource, file_name, created_at) VALUES ",
        fail ? "OR FAIL " : "", numbered ? "seq, " : "");
    for (int row = 0; row < rows; row++) {
        int p = 4 + (numbered ? 6 : 5) * row;
        length += snprintf(sql + length, sizeof sql - (size_t)length, "%s(?%d, ?%d, ?%d, ?%d, ?%d, ", row ? ", " : "", p,
                           p + 1, p + 2, p + 3, p + 4);
        if (numbered) length += snprintf(sql + length, sizeof sql - (size_t)length, "?%d, ", p + 5);
        length += snprintf(sql + length, sizeof sql - (size_t)length, "?1, ?2, ?3)");
    }
    snprintf(sql + length, sizeof sql - (size_t)length, " ON CONFLICT(id) DO NOTHING%s", numbered ? "" : " RETURNING seq");
    *events = prepare(db, sql);
    length = snprintf(sql, sizeof sql, "INSERT %sINTO payload (seq, json) VALUES ", fail ? "OR FAIL " : "");
    for (int row = 0; row < rows; row++)
        length += snprintf(sql + length, sizeof sql - (size_t)length, "%s(?, ?)", row ? ", " : "");
    *payloads = prepare(db, sql);
}

int main(int argc, char **argv) {
    if (argc < 2 || (strcmp(argv[1], "single") != 0 && strcmp(argv[1], "multi") != 0 && strcmp(argv[1], "numbered") != 0
                     && strcmp(argv[1], "fail") != 0)) {
        fprintf(stderr, "usage: %s single|multi|numbered|fail [ROWS_PER_STATEMENT] [PAYLOAD_BYTES] [DB]\n", argv[0]);
        return 2;
    }
    int fail = strcmp(argv[1], "fail") == 0;
    int numbered = fail || strcmp(argv[1], "numbered") == 0;
    int multi = numbered || strcmp(argv[1], "multi") == 0;
    if (numbered) text_binding = SQLITE_STATIC;
    int rows = argc > 2 ? atoi(argv[2]) : 32;
    int bytes = argc > 3 ? atoi(argv[3]) : 5300;
    const char *path = argc > 4 ? argv[4] : "/tmp/outbox_insert.db";
    if (rows < 1 || rows > MAX_ROWS || bytes < 1) {
        fprintf(stderr, "ROWS_PER_STATEMENT from 1 to %d; PAYLOAD_BYTES > 0\n", MAX_ROWS);
        return 2;
    }
    char companion[4096];
    unlink(path);
    snprintf(companion, sizeof companion, "%s-wal", path);
    unlink(companion);
    snprintf(companion, sizeof companion, "%s-shm", path);
    unlink(companion);

    sqlite3 *db;
    check(db, sqlite3_open(path, &db) == SQLITE_OK, "open");
    check(db, sqlite3_exec(db, schema, NULL, NULL, NULL) == SQLITE_OK, "schema");
    char *json = malloc((size_t)bytes);
    memset(json, 'x', (size_t)bytes);

    sqlite3_stmt *event = prepare(db,
        "INSERT INTO event (id, partition_key, type, subject, bytes, source, file_name, created_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(id) DO NOTHING");
    sqlite3_stmt *payload = prepare(db, "INSERT INTO payload (seq, json) VALUES (?, ?)");
    /* Multi-row statements by row count (a file's last group may be shorter), prepared once. */
    sqlite3_stmt *events[MAX_ROWS + 1] = {0}, *payloads[MAX_ROWS + 1] = {0};
    sqlite3_stmt *next_query = numbered ? prepare(db,
        "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'event'), 0),"
        " coalesce((SELECT max(seq) FROM event), 0)) + 1") : NULL;
    double start = cpu_seconds();
    int next = 0;
    char id[64];
    for (int file = 0; file < FILES; file++) {
        check(db, sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK, "begin");
        if (multi) {
            for (int done = 0; done < EVENTS_PER_FILE;) {
                int count = EVENTS_PER_FILE - done < rows ? EVENTS_PER_FILE - done : rows;
                if (!events[count]) prepare_multi(db, count, numbered, fail, &events[count], &payloads[count]);
                insert_multi(db, events[count], payloads[count], next_query, count, next, json, bytes);
                done += count;
                next += count;
            }
        } else {
            for (int n = 0; n < EVENTS_PER_FILE; n++, next++) {
                snprintf(id, sizeof id, "ORDERS05:100:%016d", next);
                insert_single(db, event, payload, id, json, bytes);
            }
        }
        check(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK, "commit");
    }
    double spent = cpu_seconds() - start;
    printf("%s, %d rows per statement, %d-byte payloads: %.3f CPU-s, %.2f us per event\n",
           argv[1], multi ? rows : 1, bytes, spent, spent / next * 1e6);
    sqlite3_close(db);
    free(json);
    return 0;
}
