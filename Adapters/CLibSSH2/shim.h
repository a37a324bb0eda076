#ifndef OUTPOST_CLIBSSH2_SHIM_H
#define OUTPOST_CLIBSSH2_SHIM_H

#include <libssh2.h>
#include <libssh2_sftp.h>

/* Constants whose macro definitions Swift does not import (shifts, casts). */
static inline int cssh_knownhost_type_plain(void) { return LIBSSH2_KNOWNHOST_TYPE_PLAIN; }
static inline int cssh_knownhost_keyenc_raw(void) { return LIBSSH2_KNOWNHOST_KEYENC_RAW; }
static inline int cssh_knownhost_file_openssh(void) { return LIBSSH2_KNOWNHOST_FILE_OPENSSH; }

/* The known_hosts key type matching a session host key type (LIBSSH2_HOSTKEY_TYPE_*). */
static inline int cssh_knownhost_key_type(int hostkey_type) {
    switch (hostkey_type) {
    case LIBSSH2_HOSTKEY_TYPE_RSA: return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
    case LIBSSH2_HOSTKEY_TYPE_DSS: return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
    case LIBSSH2_HOSTKEY_TYPE_ED25519: return LIBSSH2_KNOWNHOST_KEY_ED25519;
    default: return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
    }
}

/* SFTP attribute helpers (the LIBSSH2_SFTP_S_IS* macros take arguments). */
static inline int cssh_attrs_is_regular(const LIBSSH2_SFTP_ATTRIBUTES *a) {
    return (a->flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) && LIBSSH2_SFTP_S_ISREG(a->permissions);
}
static inline int cssh_attrs_is_directory(const LIBSSH2_SFTP_ATTRIBUTES *a) {
    return (a->flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) && LIBSSH2_SFTP_S_ISDIR(a->permissions);
}

#endif
