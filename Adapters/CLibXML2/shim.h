#ifndef OUTPOST_CLIBXML2_SHIM_H
#define OUTPOST_CLIBXML2_SHIM_H
// libxml2's headers pull in ICU when it is enabled, which clashes with Foundation's own ICU.
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/xmlreader.h>
#include <libxml/tree.h>
#include <libxml/xmlsave.h>
#include <libxml/xmlerror.h>
#include <libxml/encoding.h>

/// `xmlFree` is a C global function pointer, which Swift 6 rejects; call it through this.
static inline void cxml_free(void *p) { xmlFree(p); }

/// Installs `*handler`/`*context` as the calling thread's structured error handler (libxml2
/// keeps it per thread) and hands back the previous pair through the same pointers, so the
/// caller can restore it. Errors raised without a parser context (encoding conversion) land
/// here instead of on stderr.
static inline void cxml_swap_thread_error_handler(xmlStructuredErrorFunc *handler, void **context) {
    xmlStructuredErrorFunc previousHandler = xmlStructuredError;
    void *previousContext = xmlStructuredErrorContext;
    xmlSetStructuredErrorFunc(*context, *handler);
    *handler = previousHandler;
    *context = previousContext;
}

#endif
