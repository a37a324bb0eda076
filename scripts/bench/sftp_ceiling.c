/* What libssh2 alone reaches on this machine: the library Outpost's SFTP source wraps,
 * fetching every file of a remote directory with the same read pattern (each read asks for
 * a quarter of what is left, so libssh2's read-ahead covers the file in one go) and storing
 * nothing. With "delete", each file is removed after it is read, as Outpost does: on a
 * second SFTP channel of the same connection, the reply read before the next removal.
 *
 *   sftp_ceiling PORT USER KEYFILE REMOTE_DIR [delete]
 *
 * Prints "<files> files, <bytes> bytes". Connects to 127.0.0.1 only; the host key is not
 * checked (a benchmark against the sshd the script itself started). */
#include <arpa/inet.h>
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *what) {
    fprintf(stderr, "sftp_ceiling: %s failed\n", what);
    exit(2);
}

int main(int argc, char **argv) {
    if (argc < 5) die("usage: PORT USER KEYFILE REMOTE_DIR [delete]; reading the arguments");
    int removing = argc > 5 && strcmp(argv[5], "delete") == 0;
    if (libssh2_init(0) != 0) die("libssh2_init");

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof address) != 0) die("connect");
    int on = 1; /* as Outpost does: no Nagle delay on small requests */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);

    LIBSSH2_SESSION *session = libssh2_session_init();
    if (!session || libssh2_session_handshake(session, fd) != 0) die("handshake");
    if (libssh2_userauth_publickey_fromfile(session, argv[2], NULL, argv[3], NULL) != 0) die("authentication");
    LIBSSH2_SFTP *sftp = libssh2_sftp_init(session);
    if (!sftp) die("sftp_init");
    LIBSSH2_SFTP *removals = removing ? libssh2_sftp_init(session) : NULL;
    if (removing && !removals) die("sftp_init (second channel)");
    char removing_path[2048] = "";

    /* List first, as Outpost does, then fetch. */
    LIBSSH2_SFTP_HANDLE *directory = libssh2_sftp_opendir(sftp, argv[4]);
    if (!directory) die("opendir");
    size_t count = 0, capacity = 1024;
    char **names = malloc(capacity * sizeof *names);
    long long *sizes = malloc(capacity * sizeof *sizes);
    char name[1024];
    LIBSSH2_SFTP_ATTRIBUTES attributes;
    while (libssh2_sftp_readdir(directory, name, sizeof name, &attributes) > 0) {
        if (!LIBSSH2_SFTP_S_ISREG(attributes.permissions)) continue;
        if (count == capacity) {
            capacity *= 2;
            names = realloc(names, capacity * sizeof *names);
            sizes = realloc(sizes, capacity * sizeof *sizes);
        }
        names[count] = strdup(name);
        sizes[count++] = (long long)attributes.filesize;
    }
    libssh2_sftp_closedir(directory);

    size_t bufferSize = 4 << 20;
    char *buffer = malloc(bufferSize);
    long long total = 0;
    for (size_t i = 0; i < count; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", argv[4], names[i]);
        LIBSSH2_SFTP_HANDLE *file = libssh2_sftp_open(sftp, path, LIBSSH2_FXF_READ, 0);
        if (!file) die("open");
        long long size = sizes[i], position = 0, requested = 0;
        while (position < size) {
            long long want = requested < size ? (size - position + 3) / 4 : (requested - position) / 4;
            if (want < 1) want = 1;
            if (want > (long long)bufferSize) want = (long long)bufferSize;
            if (position + 4 * want > requested) requested = position + 4 * want;
            ssize_t got = libssh2_sftp_read(file, buffer, (size_t)want);
            if (got < 0) die("read");
            if (got == 0) break;
            position += got;
        }
        LIBSSH2_SFTP_ATTRIBUTES after;
        if (libssh2_sftp_fstat(file, &after) != 0) die("fstat");
        libssh2_sftp_close(file);
        total += position;
        if (removing) {
            /* The earlier removal's reply first, then this one's request, not waited for. */
            if (removing_path[0] && libssh2_sftp_unlink(removals, removing_path) != 0) die("unlink");
            removing_path[0] = 0;
            libssh2_session_set_blocking(session, 0);
            int rc = libssh2_sftp_unlink(removals, path);
            libssh2_session_set_blocking(session, 1);
            if (rc == LIBSSH2_ERROR_EAGAIN) snprintf(removing_path, sizeof removing_path, "%s", path);
            else if (rc != 0) die("unlink");
        }
    }
    if (removing_path[0] && libssh2_sftp_unlink(removals, removing_path) != 0) die("unlink");
    printf("%zu files, %lld bytes\n", count, total);
    if (removals) libssh2_sftp_shutdown(removals);
    libssh2_sftp_shutdown(sftp);
    libssh2_session_disconnect(session, "done");
    libssh2_session_free(session);
    close(fd);
    return 0;
}
