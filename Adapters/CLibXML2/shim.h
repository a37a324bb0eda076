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

#endif
