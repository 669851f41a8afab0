//===----------------------------------------------------------------------===//
// CArchive: libarchive for Swift (reading and writing tar layers).
//
// Only StrataArchive imports this module; nothing else sees libarchive.
//===----------------------------------------------------------------------===//

#ifndef CARCHIVE_SHIM_H
#define CARCHIVE_SHIM_H

#include <archive.h>
#include <archive_entry.h>
#include <sys/types.h>
#include <sys/stat.h>

// The file-type constants are macros of octal values Swift imports as `Int32` on some
// versions and not at all on others; one typed copy each.
static const unsigned int carchive_type_regular = AE_IFREG;
static const unsigned int carchive_type_directory = AE_IFDIR;
static const unsigned int carchive_type_symlink = AE_IFLNK;
static const unsigned int carchive_type_character = AE_IFCHR;
static const unsigned int carchive_type_block = AE_IFBLK;
static const unsigned int carchive_type_fifo = AE_IFIFO;
static const unsigned int carchive_type_socket = AE_IFSOCK;

#endif
