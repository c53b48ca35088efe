#include "store/sqlite_wal_writes.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include <Poco/Logger.h>
#include <Poco/URI.h>

namespace bcauth::store {
namespace {

// Enough for any commit the store makes; a larger one is written in several pieces.
constexpr std::size_t kMaxPending = 4 * 1024 * 1024;
constexpr std::size_t kMaxWrite = 64 * 1024;

// What SQLite allocates for each file it opens through this VFS: this header, then the wrapped
// VFS's own file object.
struct File {
  sqlite3_file base;            // must come first: SQLite sees a File as a sqlite3_file
  sqlite3_file* real;           // the wrapped VFS's file, right after this header
  std::vector<char>* pending;   // WAL files only: writes not yet handed to the file
  sqlite3_int64 pendingOffset;  // where pending starts in the file
};

constexpr std::size_t kHeaderSize = (sizeof(File) + 15) & ~std::size_t{15};

sqlite3_vfs* wrapped = nullptr;

File* self(sqlite3_file* f) { return reinterpret_cast<File*>(f); }
const sqlite3_io_methods* realMethods(File* f) { return f->real->pMethods; }

// Hands what is pending to the file; pending is empty afterwards whatever the outcome, so a
// failed write is reported once, by the call that needed it. In pieces of kMaxWrite: the unix
// VFS writes at most 128 KiB - 1 bytes per call and reports a larger write as a full disk.
int flush(File* f) {
  if (f->pending == nullptr || f->pending->empty()) return SQLITE_OK;
  int rc = SQLITE_OK;
  for (std::size_t done = 0; done < f->pending->size() && rc == SQLITE_OK; done += kMaxWrite) {
    const std::size_t piece = std::min(kMaxWrite, f->pending->size() - done);
    rc = realMethods(f)->xWrite(f->real, f->pending->data() + done, static_cast<int>(piece),
                                f->pendingOffset + static_cast<sqlite3_int64>(done));
  }
  f->pending->clear();
  return rc;
}

int xClose(sqlite3_file* file) {
  File* f = self(file);
  const int flushed = flush(f);
  const int closed = realMethods(f)->xClose(f->real);
  delete f->pending;
  f->pending = nullptr;
  return flushed != SQLITE_OK ? flushed : closed;
}

int xRead(sqlite3_file* file, void* buffer, int amount, sqlite3_int64 offset) {
  File* f = self(file);
  if (const int rc = flush(f); rc != SQLITE_OK) return rc;
  return realMethods(f)->xRead(f->real, buffer, amount, offset);
}

int xWrite(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  File* f = self(file);
  if (f->pending == nullptr) return realMethods(f)->xWrite(f->real, data, amount, offset);
  const auto size = static_cast<std::size_t>(amount);
  const bool continues = !f->pending->empty() &&
                         offset == f->pendingOffset + static_cast<sqlite3_int64>(f->pending->size()) &&
                         f->pending->size() + size <= kMaxPending;
  if (!continues) {
    if (const int rc = flush(f); rc != SQLITE_OK) return rc;
    if (size > kMaxWrite) return realMethods(f)->xWrite(f->real, data, amount, offset);
    f->pendingOffset = offset;
  }
  try {
    const auto* bytes = static_cast<const char*>(data);
    f->pending->insert(f->pending->end(), bytes, bytes + size);
  } catch (const std::bad_alloc&) {
    if (const int rc = flush(f); rc != SQLITE_OK) return rc;
    return realMethods(f)->xWrite(f->real, data, amount, offset);
  }
  return SQLITE_OK;
}

int xTruncate(sqlite3_file* file, sqlite3_int64 size) {
  File* f = self(file);
  if (const int rc = flush(f); rc != SQLITE_OK) return rc;
  return realMethods(f)->xTruncate(f->real, size);
}

int xSync(sqlite3_file* file, int flags) {
  File* f = self(file);
  if (const int rc = flush(f); rc != SQLITE_OK) return rc;
  return realMethods(f)->xSync(f->real, flags);
}

int xFileSize(sqlite3_file* file, sqlite3_int64* size) {
  File* f = self(file);
  if (const int rc = flush(f); rc != SQLITE_OK) return rc;
  return realMethods(f)->xFileSize(f->real, size);
}

int xLock(sqlite3_file* file, int level) { return realMethods(self(file))->xLock(self(file)->real, level); }
int xUnlock(sqlite3_file* file, int level) { return realMethods(self(file))->xUnlock(self(file)->real, level); }
int xCheckReservedLock(sqlite3_file* file, int* out) {
  return realMethods(self(file))->xCheckReservedLock(self(file)->real, out);
}

int xFileControl(sqlite3_file* file, int op, void* arg) {
  File* f = self(file);
  if (const int rc = flush(f); rc != SQLITE_OK) return rc;
  return realMethods(f)->xFileControl(f->real, op, arg);
}

int xSectorSize(sqlite3_file* file) { return realMethods(self(file))->xSectorSize(self(file)->real); }
int xDeviceCharacteristics(sqlite3_file* file) {
  return realMethods(self(file))->xDeviceCharacteristics(self(file)->real);
}

// Shared memory and memory mapping belong to database files, which are never buffered.
int xShmMap(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
  const auto* m = realMethods(self(file));
  return m->iVersion >= 2 ? m->xShmMap(self(file)->real, region, size, extend, out) : SQLITE_IOERR_SHMMAP;
}
int xShmLock(sqlite3_file* file, int offset, int n, int flags) {
  const auto* m = realMethods(self(file));
  return m->iVersion >= 2 ? m->xShmLock(self(file)->real, offset, n, flags) : SQLITE_IOERR_SHMLOCK;
}
void xShmBarrier(sqlite3_file* file) {
  const auto* m = realMethods(self(file));
  if (m->iVersion >= 2) m->xShmBarrier(self(file)->real);
}
int xShmUnmap(sqlite3_file* file, int deleteFlag) {
  const auto* m = realMethods(self(file));
  return m->iVersion >= 2 ? m->xShmUnmap(self(file)->real, deleteFlag) : SQLITE_OK;
}
int xFetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  File* f = self(file);
  *out = nullptr;
  if (const int rc = flush(f); rc != SQLITE_OK) return rc;
  const auto* m = realMethods(f);
  return m->iVersion >= 3 ? m->xFetch(f->real, offset, amount, out) : SQLITE_OK;
}
int xUnfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
  const auto* m = realMethods(self(file));
  return m->iVersion >= 3 ? m->xUnfetch(self(file)->real, offset, page) : SQLITE_OK;
}

const sqlite3_io_methods kMethods = {
    3,           xClose,     xRead,         xWrite,    xTruncate,   xSync,
    xFileSize,   xLock,      xUnlock,       xCheckReservedLock,     xFileControl,
    xSectorSize, xDeviceCharacteristics,    xShmMap,   xShmLock,    xShmBarrier,
    xShmUnmap,   xFetch,     xUnfetch,
};

int xOpen(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* outFlags) {
  File* f = self(file);
  f->base.pMethods = nullptr;
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kHeaderSize);
  f->pending = nullptr;
  f->pendingOffset = 0;
  if ((flags & SQLITE_OPEN_WAL) != 0) {
    f->pending = new (std::nothrow) std::vector<char>();  // none: the file is simply not buffered
  }
  const int rc = wrapped->xOpen(wrapped, name, f->real, flags, outFlags);
  if (rc != SQLITE_OK) {
    if (f->real->pMethods != nullptr) f->real->pMethods->xClose(f->real);
    delete f->pending;
    f->pending = nullptr;
    return rc;
  }
  f->base.pMethods = &kMethods;
  return SQLITE_OK;
}

// Everything but opening a file is the wrapped VFS's.
int xDelete(sqlite3_vfs*, const char* name, int syncDir) { return wrapped->xDelete(wrapped, name, syncDir); }
int xAccess(sqlite3_vfs*, const char* name, int flags, int* out) { return wrapped->xAccess(wrapped, name, flags, out); }
int xFullPathname(sqlite3_vfs*, const char* name, int size, char* out) {
  return wrapped->xFullPathname(wrapped, name, size, out);
}
void* xDlOpen(sqlite3_vfs*, const char* name) { return wrapped->xDlOpen(wrapped, name); }
void xDlError(sqlite3_vfs*, int size, char* out) { wrapped->xDlError(wrapped, size, out); }
void (*xDlSym(sqlite3_vfs*, void* handle, const char* symbol))(void) { return wrapped->xDlSym(wrapped, handle, symbol); }
void xDlClose(sqlite3_vfs*, void* handle) { wrapped->xDlClose(wrapped, handle); }
int xRandomness(sqlite3_vfs*, int size, char* out) { return wrapped->xRandomness(wrapped, size, out); }
int xSleep(sqlite3_vfs*, int micros) { return wrapped->xSleep(wrapped, micros); }
int xCurrentTime(sqlite3_vfs*, double* out) { return wrapped->xCurrentTime(wrapped, out); }
int xGetLastError(sqlite3_vfs*, int size, char* out) { return wrapped->xGetLastError(wrapped, size, out); }
int xCurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  if (wrapped->iVersion >= 2 && wrapped->xCurrentTimeInt64 != nullptr) return wrapped->xCurrentTimeInt64(wrapped, out);
  double days = 0;
  const int rc = wrapped->xCurrentTime(wrapped, &days);
  *out = static_cast<sqlite3_int64>(days * 86400000.0);
  return rc;
}

constexpr const char* kName = "bcauth-coalesced-wal";
sqlite3_vfs vfs{};

}  // namespace

const char* coalescedWalVfs() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Before SQLite initialises (this is the store's first call into it): no memory statistics.
    // Debian's SQLite keeps them by default, which takes one process-wide mutex on every one of
    // its allocations (and, built without lookaside, it allocates for every row and statement),
    // so a store's threads wait on each other there. bcauth reads no SQLite memory statistic.
    // SQLITE_MISUSE (SQLite already initialised by other code in the process) only leaves the
    // default, slower but correct: said once, not fatal.
    if (sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK) {
      Poco::Logger::get("bcauth.store")
          .warning("SQLite was initialised before the store: it keeps its memory statistics (one more lock per allocation)");
    }
    if (sqlite3_initialize() != SQLITE_OK) throw std::runtime_error("store: SQLite does not initialise");
    wrapped = sqlite3_vfs_find(nullptr);
    if (wrapped == nullptr) throw std::runtime_error("store: SQLite has no default VFS");
    vfs.iVersion = 2;
    vfs.szOsFile = static_cast<int>(kHeaderSize) + wrapped->szOsFile;
    vfs.mxPathname = wrapped->mxPathname;
    vfs.zName = kName;
    vfs.xOpen = xOpen;
    vfs.xDelete = xDelete;
    vfs.xAccess = xAccess;
    vfs.xFullPathname = xFullPathname;
    vfs.xDlOpen = xDlOpen;
    vfs.xDlError = xDlError;
    vfs.xDlSym = xDlSym;
    vfs.xDlClose = xDlClose;
    vfs.xRandomness = xRandomness;
    vfs.xSleep = xSleep;
    vfs.xCurrentTime = xCurrentTime;
    vfs.xGetLastError = xGetLastError;
    vfs.xCurrentTimeInt64 = xCurrentTimeInt64;
    if (sqlite3_vfs_register(&vfs, 0) != SQLITE_OK) throw std::runtime_error("store: SQLite refuses the WAL VFS");
  });
  return kName;
}

std::string sqliteUri(const std::string& path, const char* vfsName) {
  // An absolute path gets an empty authority ("file:///…"), so one that starts with "//" is
  // not read as a host name. SQLite decodes every %XX; '?' and '#' would end the path.
  std::string uri = !path.empty() && path.front() == '/' ? "file://" : "file:";
  Poco::URI::encode(path, "?#", uri);
  return uri + "?vfs=" + vfsName;
}

}  // namespace bcauth::store
