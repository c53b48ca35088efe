// A transaction's WAL frames in a few large writes.
//
// SQLite writes each WAL frame with two pwrite calls (its 24-byte header, then the page), so a
// commit that changes 16 pages makes 32 system calls before its fsync; on tmpfs those calls,
// not the bytes, were the largest part of a commit's cost. The VFS registered here wraps the
// process's default one and, for WAL files only, keeps contiguous writes in memory and hands
// them to the file in one write per 64 KiB before anything can depend on them: before every
// sync, read, truncate, size query, file control and close. A failed write surfaces from that
// sync, so the commit fails as it would have. Database and journal files are passed through
// untouched.
//
// It is sound only for connections that commit with synchronous=FULL: every commit then syncs
// its WAL before the wal-index makes its frames visible to other connections. So it is not the
// default VFS; a connection asks for it by name (sqliteUri), and SqliteConnection, the only one
// that does, sets FULL on every connection it opens.
#pragma once

#include <string>

namespace bcauth::store {

// The coalescing VFS's name, registered on the first call. Throws std::runtime_error if SQLite
// refuses it.
const char* coalescedWalVfs();

// `path` as an SQLite URI filename that opens it through `vfs` (percent-encoded).
std::string sqliteUri(const std::string& path, const char* vfs);

}  // namespace bcauth::store
