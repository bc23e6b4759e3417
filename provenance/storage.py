"""Objects in stores (``s3://``, ``gs://``, ``az://`` ...), read through fsspec.

Two halves, one for each side of a scan:

* listing, where the inputs are walked (:func:`entries`): a URL naming a
  prefix (``s3://bucket/photos/``, or a bucket) is listed page by page on
  S3, GCS and Azure, each page given out before the next is asked for, so a
  listing of millions of keys is never held whole (any other fsspec store:
  a folder at a time);
  each object comes with what the listing said of it (size, ETag or
  generation, version id, modification time: :class:`~provenance.batch.Remote`),
  with no request per object. A prefix takes the objects a folder walk
  would (:func:`provenance.paths.wanted_in_walk`); a URL naming one object
  is checked whatever its name, after one ``info``.
* fetching, where the checks run (:func:`fetch_all`, called by
  :func:`provenance.batch.prefetch`): the objects of a batch are fetched
  concurrently, each whole and once (every report has a SHA-256, so ranged
  reads would save nothing), within the size limit; large ones (a long
  video) go to a private unlinked temporary file rather than memory. Each
  is asked for on the condition that it is still the listed one (S3 and
  Azure: ``If-Match`` the ETag; GCS: ``ifGenerationMatch``), so one
  rewritten since is ``changed-during-scan``, never checked as the listed one.

fsspec and the store's library are imported only here, and only when a
URL is met: the base install does not need them. Credentials are whatever
the store's library finds in its usual provider chain (environment
variables, profiles, instance or workload roles); nothing here reads,
stores or prints them, and error messages are built from the store's
error codes, not from raw exception text.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import tempfile
from collections.abc import AsyncIterator, Iterator
from typing import IO, TYPE_CHECKING, Any

from provenance.paths import Entry, wanted_in_walk

if TYPE_CHECKING:
    from provenance.api import Options
    from provenance.batch import Fetched, Remote, Task

#: URL schemes of the stores this package knows, and the extra each needs.
EXTRAS = {
    "s3": "s3",
    "s3a": "s3",
    "gs": "gcs",
    "gcs": "gcs",
    "az": "azure",
    "abfs": "azure",
    "abfss": "azure",
}
#: What each extra installs, as (module, distribution).
_EXTRA_MODULES = {
    "s3": (("fsspec", "fsspec"), ("s3fs", "s3fs")),
    "gcs": (("fsspec", "fsspec"), ("gcsfs", "gcsfs")),
    "azure": (("fsspec", "fsspec"), ("adlfs", "adlfs")),
}

#: Keys asked for per listing request (S3 gives at most 1000).
PAGE_SIZE = 1000
#: Objects of one batch fetched at the same time.
FETCH_CONCURRENCY = 32
#: Bytes of one batch's objects held in memory at once; the rest go to temporary files.
MEMORY_BUDGET = 256 * 1024**2
#: URLs from a ``--files-from`` list looked up together (one ``info`` each, concurrently).
INFO_CHUNK = 64

_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+)://")


class UnsupportedURL(ValueError):
    """A URL that is not read: not an object store's, or with credentials in it."""


def is_url(text: str) -> bool:
    """Whether ``text`` is a URL (``scheme://...``) rather than a local path.

    ``file://`` is not: local files are walked as paths. Of the others only
    object stores' are read (:func:`require` refuses the rest).
    """
    match = _URL.match(text)
    return match is not None and match.group(1).lower() != "file"


def protocol(url: str) -> str:
    """The URL's scheme, lower case (``s3`` for ``s3://bucket/key``)."""
    match = _URL.match(url)
    if match is None:
        raise UnsupportedURL(f"not a URL: {url}")
    return match.group(1).lower()


def require(url: str) -> None:
    """Raise :class:`~provenance.api.MissingExtraError` unless ``url`` can be read here.

    Only the stores of :data:`EXTRAS` are read, each when its extra's
    modules import; any other scheme (``http://``, ``ftp://``, ...) is
    refused with :class:`UnsupportedURL`, even where fsspec could read it:
    a scan reads the user's object store, not the web. Nothing is fetched
    or connected to.
    """
    import importlib

    from provenance.api import MissingExtraError

    scheme = protocol(url)
    if has_credentials(url):
        # Not repeated here: the URL would carry the secret into the message.
        raise UnsupportedURL(f"a {scheme}:// URL with {CREDENTIALS_IN_URL}")
    extra = EXTRAS.get(scheme)
    if extra is None:
        known = ", ".join(f"{s}://" for s in EXTRAS)
        raise UnsupportedURL(f"{scheme}:// URLs are not read (object stores only: {known})")
    missing = []
    for module, distribution in _EXTRA_MODULES[extra]:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(distribution)
    if missing:
        raise MissingExtraError(f"reading {scheme}:// URLs", extra, missing)


CREDENTIALS_IN_URL = (
    "credentials in it is refused (they would be written to every record): "
    "give them through the environment, a profile or an instance role"
)


def has_credentials(url: str) -> bool:
    """Whether ``url`` holds a user name and password (``s3://KEY:SECRET@bucket/``).

    S3 and GCS bucket names cannot hold ``@``, so any user part counts there;
    elsewhere (``abfs://container@account...``) only one with a password.
    """
    scheme = protocol(url)
    netloc = url[len(scheme) + 3 :].split("/", 1)[0]
    user, at, _ = netloc.rpartition("@")
    return bool(at) and (":" in user or EXTRAS.get(scheme) in ("s3", "gcs"))


def redacted(url: str) -> str:
    """``url`` without its user part (see :func:`has_credentials`)."""
    scheme = protocol(url)
    rest = url[len(scheme) + 3 :]
    netloc, slash, path = rest.partition("/")
    return f"{url[: len(scheme) + 3]}{netloc.rpartition('@')[2]}{slash}{path}"


#: Loggers of the store libraries: they log retries and failures, with request details, to stderr when
#: nobody configured logging. Each failure reaches the user once, as the file's error, in words that
#: never carry a request (:func:`describe`); their records are dropped (a NullHandler, not propagated).
_LIBRARY_LOGGERS = ("fsspec", "s3fs", "gcsfs", "adlfs", "azure", "botocore", "aiobotocore", "google", "urllib3")
_quieted = False


def _quiet_library_logs() -> None:
    global _quieted
    if _quieted:
        return
    import logging

    for name in _LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        logger.addHandler(logging.NullHandler())
        logger.propagate = False
    _quieted = True


def filesystem(url: str) -> Any:
    """The fsspec filesystem for ``url``'s scheme (fsspec keeps one per process).

    S3 gets a connection pool as large as :data:`FETCH_CONCURRENCY` (botocore's
    default of 10 would cap the fetches of a batch), unless the user's fsspec
    configuration sets ``config_kwargs`` itself.
    """
    import fsspec

    _quiet_library_logs()
    scheme = protocol(url)
    if EXTRAS.get(scheme) == "s3" and "config_kwargs" not in fsspec.config.conf.get(scheme, {}):
        return fsspec.filesystem(scheme, config_kwargs={"max_pool_connections": FETCH_CONCURRENCY})
    return fsspec.filesystem(scheme)


def _scheme_prefix(url: str) -> str:
    return url[: _URL.match(url).end()]  # type: ignore[union-attr]


def _library(fs: Any) -> str:
    """The package of ``fs``'s class (``s3fs``, ``gcsfs``, ``adlfs``; another for any other store)."""
    return type(fs).__module__.split(".")[0]


def _is_s3(fs: Any) -> bool:
    return _library(fs) == "s3fs"


# --- what a listing says of an object -------------------------------------------


def _timestamp(value: Any) -> float | None:
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return float(value.timestamp())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return _timestamp(_dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def _text(value: Any) -> str | None:
    if value is None or value == "" or value == "null":
        return None
    return str(value)


def remote_of(url: str, info: dict[str, Any]) -> Remote:
    """A :class:`~provenance.batch.Remote` from an fsspec ``info`` dictionary (or an S3 listing entry).

    ETag for S3 and Azure, generation for GCS (which changes with every
    write of the object), as the store gave it; the version id where the
    store keeps versions.
    """
    from provenance.batch import Remote

    etag = _text(info.get("generation")) or _text(info.get("ETag")) or _text(info.get("etag"))
    version = _text(info.get("VersionId")) or _text(info.get("version_id"))
    mtime = None
    for key in ("LastModified", "last_modified", "updated", "mtime", "modified"):
        if info.get(key) is not None:
            mtime = _timestamp(info[key])
            break
    size = info.get("size", info.get("Size"))
    return Remote(url, int(size or 0), etag, version, mtime)


# --- listing --------------------------------------------------------------------


def _error_entry(url: str, exc: BaseException, doing: str) -> Entry:
    kind, message = describe(exc)
    return Entry(url, kind, f"cannot {doing}: {message}")


def entries(url: str) -> Iterator[Entry]:
    """The objects ``url`` names, as walk entries carrying a :class:`~provenance.batch.Remote`.

    A URL ending in ``/`` (or a bare bucket) is a prefix, listed lazily; any
    other is looked up once: an object is given as it is (whatever its name,
    as a file named on the command line), a prefix is listed. A failure
    (no such bucket, access denied) is one entry with its error kind; a
    listing that fails part-way keeps what it gave and adds that entry.
    """
    if has_credentials(url):
        yield Entry(redacted(url), "unreadable", f"a URL with {CREDENTIALS_IN_URL}")
        return
    from provenance.api import MissingExtraError

    try:
        require(url)  # a URL from a list: checked here, one entry each (those given as arguments were, up front)
    except (MissingExtraError, UnsupportedURL) as exc:
        yield Entry(url, "unreadable", str(exc))
        return
    try:
        fs = filesystem(url)
        scheme = _scheme_prefix(url)
        path = fs._strip_protocol(url)
    except Exception as exc:  # the store's library could not be set up (a bad configuration, say)
        yield _error_entry(url, exc, "reach the store")
        return
    if url.endswith("/") or "/" not in path.strip("/"):
        yield from _listing(fs, scheme, path.rstrip("/"), url)
        return
    try:
        info = fs.info(path)
    except Exception as exc:
        yield _error_entry(url, exc, "look the object up")
        return
    if info.get("type") == "directory":
        yield from _listing(fs, scheme, path.rstrip("/"), url)
        return
    yield Entry(url, remote=remote_of(url, info))


def _listing(fs: Any, scheme: str, path: str, url: str) -> Iterator[Entry]:
    """Every object below the prefix ``path`` (``bucket/some/prefix``) that a folder walk would take."""
    try:
        library = _library(fs)
        if library == "s3fs":
            yield from _s3_listing(fs, scheme, path)
        elif library == "gcsfs":
            yield from _gcs_listing(fs, scheme, path)
        elif library == "adlfs":
            yield from _azure_listing(fs, scheme, path)
        else:
            yield from _generic_listing(fs, scheme, path)
    except Exception as exc:
        yield _error_entry(url, exc, "list the objects")


def _wanted(relative: str) -> bool:
    """Whether a folder walk would check the object at ``relative`` (below the listed prefix)."""
    if not relative or relative.endswith("/"):
        return False  # a "folder" marker object
    parts = relative.split("/")
    return not any(p.startswith(".") for p in parts[:-1]) and wanted_in_walk(parts[-1])


def _s3_listing(fs: Any, scheme: str, path: str) -> Iterator[Entry]:
    """ListObjectsV2, one page per request, each page handed out before the next is asked for.

    s3fs's own ``find`` gathers the whole listing into one dictionary; here
    each page is one ``list_objects_v2`` call through s3fs's retrying
    ``_call_s3``, its continuation token kept for the next.
    """
    from fsspec.asyn import sync

    bucket, _, key = path.partition("/")
    prefix = f"{key}/" if key else ""

    async def page(token: str | None) -> dict[str, Any]:
        asked: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": PAGE_SIZE}
        if token:
            asked["ContinuationToken"] = token
        answer: dict[str, Any] = await fs._call_s3("list_objects_v2", **asked)
        return answer

    token: str | None = None
    while True:
        answer = sync(fs.loop, page, token)
        for item in answer.get("Contents", ()):
            name = item["Key"]
            if not _wanted(name[len(prefix) :]):
                continue
            url = f"{scheme}{bucket}/{name}"
            yield Entry(url, remote=remote_of(url, item))
        token = answer.get("NextContinuationToken")
        if not answer.get("IsTruncated") or not token:
            return


def _gcs_listing(fs: Any, scheme: str, path: str) -> Iterator[Entry]:
    """The JSON API's objects list, one page per request, each page handed out before the next is asked for.

    gcsfs's ``find`` and ``ls`` gather a whole listing (or folder) first;
    here each page is one ``GET b/{bucket}/o`` through gcsfs's own
    authenticated, retrying ``_call``, its ``nextPageToken`` kept for the next.
    """
    from fsspec.asyn import sync

    bucket, _, key = path.partition("/")
    prefix = f"{key}/" if key else None

    async def page(token: str | None) -> dict[str, Any]:
        # gcsfs leaves out the parameters that are None.
        answer: dict[str, Any] = await fs._call(
            "GET",
            "b/{}/o",
            bucket,
            json_out=True,
            prefix=prefix,
            maxResults=PAGE_SIZE,
            pageToken=token,
            fields="items(name,size,generation,updated),nextPageToken",
        )
        return answer

    token: str | None = None
    while True:
        answer = sync(fs.loop, page, token)
        for item in answer.get("items", ()):
            name = str(item["name"])
            if not _wanted(name[len(prefix or "") :]):
                continue
            url = f"{scheme}{bucket}/{name}"
            yield Entry(url, remote=remote_of(url, item))
        token = answer.get("nextPageToken")
        if not token:
            return


def _azure_listing(fs: Any, scheme: str, path: str) -> Iterator[Entry]:
    """List Blobs, one page per request (the Azure SDK's pager, resumed from its continuation token).

    adlfs's ``find`` and ``ls`` gather a whole listing (or folder) first;
    here each page is one request through adlfs's own service client, and
    the marker it ends with is kept for the next. Folder blobs of a
    hierarchical namespace (``hdi_isfolder``) are passed over.
    """
    from fsspec.asyn import sync

    container, _, key = path.partition("/")
    prefix = f"{key}/" if key else None

    async def page(token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        async with fs.service_client.get_container_client(container) as client:
            pages = client.list_blobs(
                name_starts_with=prefix, include=["metadata"], results_per_page=PAGE_SIZE
            ).by_page(continuation_token=token)
            items = []
            async for blob in await pages.__anext__():
                if (blob.metadata or {}).get("hdi_isfolder") == "true":
                    continue
                items.append(
                    {
                        "name": blob.name,
                        "size": blob.size,
                        "etag": _quoted(blob.etag),  # as Get Blob's ETag header has it (and --resume keeps it)
                        "last_modified": blob.last_modified,
                        "version_id": blob.version_id,
                    }
                )
            following: str | None = pages.continuation_token
            return items, following

    token: str | None = None
    while True:
        items, token = sync(fs.loop, page, token)
        for item in items:
            name = str(item["name"])
            if not _wanted(name[len(prefix or "") :]):
                continue
            url = f"{scheme}{container}/{name}"
            yield Entry(url, remote=remote_of(url, item))
        if not token:
            return


def _quoted(etag: Any) -> str | None:
    """An ETag in quotes, as HTTP headers carry it (List Blobs gives it bare)."""
    text = _text(etag)
    if text is None or text.startswith(('"', "W/")):
        return text
    return f'"{text}"'


def _generic_listing(fs: Any, scheme: str, path: str) -> Iterator[Entry]:
    """Folder by folder with ``ls`` (for stores without a flat paginated listing here): one folder held at a time."""
    root = path.rstrip("/")
    stack = [root]
    while stack:
        folder = stack.pop()
        listed = sorted(fs.ls(folder, detail=True), key=lambda i: str(i.get("name", "")))
        folders = []
        for info in listed:
            name = str(info.get("name", "")).rstrip("/")
            relative = name[len(root) :].lstrip("/")
            if info.get("type") == "directory":
                if name != folder and not relative.split("/")[-1].startswith("."):
                    folders.append(name)
                continue
            if _wanted(relative):
                url = f"{scheme}{name}"
                yield Entry(url, remote=remote_of(url, info))
        stack.extend(reversed(folders))


def listed_entries(urls: list[str]) -> Iterator[Entry]:
    """Entries for URLs named in a list (a bucket inventory, say), looked up concurrently.

    An object URL needs one ``info`` (its size and ETag for the size limit
    and ``--resume``); those of a chunk of :data:`INFO_CHUNK` URLs are asked
    for together where the store's library is asynchronous. A prefix URL
    (ending in ``/``) is listed as on the command line.
    """
    objects = [u for u in urls if not u.endswith("/") and _readable(u)]  # the rest: an error entry each, unasked
    infos: dict[str, Any] = {}
    if objects:
        try:
            fs = filesystem(objects[0])
        except Exception:
            fs = None  # each URL then gives its own error entry
        same = all(protocol(u) == protocol(objects[0]) for u in objects)
        if fs is not None and same and getattr(fs, "async_impl", False):
            import asyncio

            from fsspec.asyn import sync

            async def look_up() -> list[Any]:
                return await asyncio.gather(*(fs._info(fs._strip_protocol(u)) for u in objects), return_exceptions=True)

            try:
                infos = dict(zip(objects, sync(fs.loop, look_up), strict=True))
            except Exception:
                infos = {}
    for url in urls:
        if url.endswith("/") or url not in infos:
            yield from entries(url)
            continue
        info = infos[url]
        if isinstance(info, BaseException):
            yield _error_entry(url, info, "look the object up")
        elif info.get("type") == "directory":
            yield from entries(url + "/")
        else:
            yield Entry(url, remote=remote_of(url, info))


def _readable(url: str) -> bool:
    """Whether :func:`require` lets ``url`` be read."""
    from provenance.api import MissingExtraError

    try:
        require(url)
    except (MissingExtraError, UnsupportedURL):
        return False
    return True


def open_list(url: str) -> IO[bytes]:
    """A ``--files-from`` list kept in a store, opened for streaming."""
    fs = filesystem(url)
    stream: IO[bytes] = fs.open(fs._strip_protocol(url), "rb")
    return stream


# --- errors, without secrets -----------------------------------------------------

#: S3 error codes that mean the object is gone.
_GONE = frozenset({"NoSuchKey", "NoSuchBucket", "NoSuchVersion", "NotFound", "404"})
#: Error codes that mean access was refused.
_DENIED = frozenset(
    {
        "AccessDenied",
        "AllAccessDisabled",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "AccountProblem",
        "403",
    }
)
#: Error codes of a conditional request whose condition failed: the object changed.
_CHANGED = frozenset({"PreconditionFailed", "412"})


def _code(exc: BaseException) -> str | None:
    """The store's error code behind ``exc`` (botocore's ``ClientError``, as s3fs keeps it as the cause)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        response = getattr(current, "response", None)
        if isinstance(response, dict):
            code = (response.get("Error") or {}).get("Code")
            if code:
                return str(code)
        status = getattr(current, "status", None) or getattr(current, "code", None)
        status = status or getattr(current, "status_code", None)  # the Azure SDK's HttpResponseError
        if isinstance(status, int) and 400 <= status < 600:
            return str(status)
        current = current.__cause__ or current.__context__
    return None


def describe(exc: BaseException) -> tuple[str, str]:
    """An error kind and a message for a failed listing or fetch.

    The message names the store's error code or the exception's type, never
    the exception's text: a library's message may quote a request, and
    requests carry credentials (signed headers, tokens in URLs).
    """
    code = _code(exc)
    named = f" ({code})" if code else f" ({type(exc).__name__})"
    if code in _CHANGED:
        return "changed-during-scan", "the object changed between the listing and its fetch (ETag differs): not read"
    if code == "NoSuchBucket":
        return "not-found", f"no such bucket in the store{named}"
    if isinstance(exc, FileNotFoundError) or code in _GONE:
        return "not-found", f"no such object in the store{named}"
    forbidden = type(exc) is OSError and str(exc).startswith("Forbidden")  # gcsfs's 403, with no code kept
    if isinstance(exc, PermissionError) or code in _DENIED or forbidden:
        return "permission-denied", f"the store refused access{named}"
    if isinstance(exc, TimeoutError) or type(exc).__name__ == "TimeoutError":
        return "unreadable", "the store did not answer in time"
    names = {kind.__name__ for kind in type(exc).__mro__}  # aiohttp's DNS error is a ClientConnectorError
    if isinstance(exc, ConnectionError) or names & {"EndpointConnectionError", "ClientConnectorError"}:
        return "unreadable", f"could not connect to the store{named}"
    return "unreadable", f"the store request failed{named}"


# --- fetching -------------------------------------------------------------------


def fetch_all(tasks: list[Task], options: Options) -> list[Task]:
    """The remote tasks of ``tasks`` fetched (concurrently), in the same order; the rest as they are.

    Each remote task comes back with ``fetched`` set: the object's bytes, an
    unlinked temporary file holding it, or why it could not be fetched. An
    object whose listed size is over ``limits.max_file_bytes`` is not
    fetched (error ``limit-exceeded``). Never raises.
    """
    from dataclasses import replace

    from provenance.batch import Fetched

    wanted = [i for i, t in enumerate(tasks) if t.remote is not None and t.fetched is None]
    if not wanted:
        return tasks
    limits = options.limits
    out = list(tasks)
    plans: list[tuple[int, bool]] = []  # (position, to a temporary file)
    held = 0
    for i in wanted:
        remote = tasks[i].remote
        assert remote is not None
        if remote.size > limits.max_file_bytes:
            message = f"{remote.size} bytes is over the {limits.max_file_bytes}-byte file size limit: not fetched"
            out[i] = replace(tasks[i], fetched=Fetched(error=("limit-exceeded", message)))
            continue
        spill = remote.size >= limits.large_file_bytes or held + remote.size > MEMORY_BUDGET
        if not spill:
            held += remote.size
        plans.append((i, spill))
    if not plans:
        return out
    try:
        results = _run_fetches([(tasks[i], spill) for i, spill in plans], limits.max_file_bytes)
    except Exception as exc:  # the store's library failed as a whole (no event loop, say)
        kind, message = describe(exc)
        results = [Fetched(error=(kind, f"could not fetch the object: {message}")) for _ in plans]
    for (i, _), fetched in zip(plans, results, strict=True):
        out[i] = replace(tasks[i], fetched=fetched)
    return out


def _run_fetches(plans: list[tuple[Task, bool]], limit: int) -> list[Fetched]:
    import asyncio

    from fsspec.asyn import get_loop, sync

    semaphore: list[asyncio.Semaphore] = []

    async def one(task: Task, spill: bool) -> Fetched:
        async with semaphore[0]:
            return await _fetch(task, spill, limit)

    async def every() -> list[Fetched]:
        semaphore.append(asyncio.Semaphore(FETCH_CONCURRENCY))
        return list(await asyncio.gather(*(one(t, s) for t, s in plans)))

    results: list[Fetched] = sync(get_loop(), every)
    return results


async def _fetch(task: Task, spill: bool, limit: int) -> Fetched:
    from provenance.batch import Fetched

    remote = task.remote
    assert remote is not None
    try:
        fs = filesystem(remote.url)
        library = _library(fs)
        if library == "s3fs":
            return await _fetch_s3(fs, remote, spill, limit)
        if library == "gcsfs":
            return await _fetch_gcs(fs, remote, spill, limit)
        if library == "adlfs":
            return await _fetch_azure(fs, remote, spill, limit)
        return await _fetch_generic(fs, remote, spill, limit)
    except Exception as exc:
        kind, message = describe(exc)
        return Fetched(error=(kind, message if kind == "changed-during-scan" else f"cannot fetch: {message}"))


class _Changed(Exception):
    """Raised by a stream of blocks whose object turned out not to be the listed one."""


async def _spool(blocks: AsyncIterator[bytes], limit: int) -> IO[bytes] | int:
    """``blocks`` written to an unlinked temporary file; the size reached instead if it goes over ``limit``
    (what ``blocks`` raises, :class:`_Changed` say, is raised here, the file closed)."""
    file = tempfile.TemporaryFile()
    try:
        size = 0
        async for block in blocks:
            size += len(block)
            if size > limit:
                file.close()
                return size
            file.write(block)
        file.flush()
    except BaseException:
        file.close()
        raise
    return file


def _changed() -> Fetched:
    from provenance.batch import Fetched

    return Fetched(error=("changed-during-scan", "the object changed between the listing and its fetch: not read"))


def _over(size: int, limit: int) -> Fetched:
    from provenance.batch import Fetched

    message = f"{size} bytes is over the {limit}-byte file size limit (it grew since the listing): not fetched"
    return Fetched(error=("limit-exceeded", message))


async def _fetch_s3(fs: Any, remote: Remote, spill: bool, limit: int) -> Fetched:
    """GetObject with ``If-Match`` the listed ETag: a changed object is refused by the store itself (412)."""
    from provenance.batch import Fetched

    path = fs._strip_protocol(remote.url)
    bucket, _, key = path.partition("/")
    conditions: dict[str, str] = {}
    if remote.etag:
        conditions["IfMatch"] = remote.etag
    if remote.version:
        conditions["VersionId"] = remote.version
    response = await fs._call_s3("get_object", Bucket=bucket, Key=key, **conditions)
    body = response["Body"]
    try:
        etag = _text(response.get("ETag"))
        if remote.etag and etag and etag != remote.etag:  # a store that ignores If-Match
            return _changed()
        length = response.get("ContentLength")
        if isinstance(length, int) and length > limit:
            return _over(length, limit)
        meta = {
            "etag": etag,
            "version": _text(response.get("VersionId")),
            "mtime": _timestamp(response.get("LastModified")),
        }
        if spill:

            async def blocks() -> AsyncIterator[bytes]:
                while block := await body.read(1 << 20):
                    yield block

            spooled = await _spool(blocks(), limit)
            if isinstance(spooled, int):
                return _over(spooled, limit)
            return Fetched(file=spooled, **meta)  # type: ignore[arg-type]
        data: bytes = await body.read()
    finally:
        body.close()
    if len(data) > limit:
        return _over(len(data), limit)
    if len(data) != remote.size:
        return _changed()
    return Fetched(data=data, **meta)  # type: ignore[arg-type]


#: Bytes asked for per request when a GCS object goes to a temporary file.
GCS_CHUNK = 8 * 1024**2


async def _fetch_gcs(fs: Any, remote: Remote, spill: bool, limit: int) -> Fetched:
    """The media download with ``ifGenerationMatch`` the listed generation: a rewritten object is refused (412).

    A large object comes in ranges of :data:`GCS_CHUNK`, each with the same
    condition, so all its bytes are of the listed generation. The
    generation each answer names is compared too (for a server that
    ignores the condition, as some emulators do).
    """
    from provenance.batch import Fetched

    path = fs._strip_protocol(remote.url)
    url = fs.url(path)
    condition = {"ifGenerationMatch": remote.etag} if remote.etag else {}

    async def get(headers: dict[str, str] | None = None) -> tuple[Any, bytes] | None:
        try:
            answer, data = await fs._call("GET", url, headers=headers, **condition)
        except FileExistsError:  # gcsfs's name for 412 Precondition Failed
            return None
        generation = _text(answer.get("X-Goog-Generation"))
        if remote.etag and generation and generation != remote.etag:
            return None
        return answer, bytes(data)

    if not spill:
        got = await get()
        if got is None:
            return _changed()
        _, data = got
        if len(data) > limit:
            return _over(len(data), limit)
        if len(data) != remote.size:
            return _changed()
        return Fetched(data=data)

    async def ranges() -> AsyncIterator[bytes]:
        done = 0
        while True:
            got = await get({"Range": f"bytes={done}-{done + GCS_CHUNK - 1}"})
            if got is None:
                raise _Changed
            answer, block = got
            done += len(block)
            yield block
            total = str(answer.get("Content-Range", "")).rpartition("/")[2]
            if not block or not total.isdigit() or done >= int(total):
                return

    try:
        spooled = await _spool(ranges(), limit)
    except _Changed:
        return _changed()
    if isinstance(spooled, int):
        return _over(spooled, limit)
    file = spooled
    size = os.fstat(file.fileno()).st_size
    if size != remote.size:
        file.close()
        return _changed()
    return Fetched(file=file)


async def _fetch_azure(fs: Any, remote: Remote, spill: bool, limit: int) -> Fetched:
    """Get Blob with ``If-Match`` the listed ETag: a changed blob is refused by the store itself (412).

    The SDK keeps the condition on every part of a download it splits.
    """
    from azure.core import MatchConditions

    from provenance.batch import Fetched

    container, blob, _ = fs.split_path(fs._strip_protocol(remote.url))
    condition: dict[str, Any] = {}
    if remote.etag:
        condition = {"etag": _quoted(remote.etag), "match_condition": MatchConditions.IfNotModified}
    async with fs.service_client.get_blob_client(container=container, blob=blob) as client:
        try:
            stream = await client.download_blob(**condition)
        except Exception as exc:
            if _code(exc) == "412":  # Azurite answers a deleted blob's If-Match so too: is it there?
                await client.get_blob_properties()  # raises "not found" if it is not
            raise
        etag = _quoted(stream.properties.etag)
        if remote.etag and etag and etag != _quoted(remote.etag):
            return _changed()
        if stream.size > limit:
            return _over(stream.size, limit)
        meta = {"etag": etag, "mtime": _timestamp(stream.properties.last_modified)}
        if spill:
            spooled = await _spool(stream.chunks(), limit)
            if isinstance(spooled, int):
                return _over(spooled, limit)
            return Fetched(file=spooled, **meta)  # type: ignore[arg-type]
        data = bytes(await stream.readall())
    if len(data) != remote.size:
        return _changed()
    return Fetched(data=data, **meta)  # type: ignore[arg-type]


async def _fetch_generic(fs: Any, remote: Remote, spill: bool, limit: int) -> Fetched:
    """Any other fsspec store: the whole object; changed if its size is not the listed one."""
    import asyncio

    from provenance.batch import Fetched

    path = fs._strip_protocol(remote.url)
    if spill:
        stream = await asyncio.to_thread(fs.open, path, "rb")
        try:

            async def blocks() -> AsyncIterator[bytes]:
                while block := await asyncio.to_thread(stream.read, 1 << 20):
                    yield block

            file = await _spool(blocks(), limit)
        finally:
            stream.close()
        if isinstance(file, int):
            return _over(file, limit)
        size = os.fstat(file.fileno()).st_size
        if size != remote.size:
            file.close()
            return _changed()
        return Fetched(file=file)
    if getattr(fs, "async_impl", False):
        data = await fs._cat_file(path)
    else:
        data = await asyncio.to_thread(fs.cat_file, path)
    if len(data) > limit:
        return _over(len(data), limit)
    if len(data) != remote.size:
        return _changed()
    return Fetched(data=bytes(data))
