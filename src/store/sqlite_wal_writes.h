// A transaction's WAL frames in one write.
//
// SQLite writes each WAL frame with two pwrite calls (its 24-byte header, then the page), so a
// commit that changes 16 pages makes 32 system calls before its fsync; on tmpfs those calls,
// not the bytes, were the largest part of a commit's cost. The VFS registered here wraps the
// process's default one and, for WAL files only, keeps contiguous writes in memory and hands
// them to the file in one write before anything can depend on them: before every sync (the
// store runs synchronous=FULL, so every commit syncs its WAL before the wal-index makes its
// frames visible), read, truncate, size query, file control and close. A failed write surfaces
// from that sync, so the commit fails as it would have. Database and journal files are passed
// through untouched.
#pragma once

namespace bcauth::store {

// Makes the coalescing VFS SQLite's default, once per process; later calls do nothing.
// Throws std::runtime_error if SQLite refuses it.
void useCoalescedWalWrites();

}  // namespace bcauth::store
