// Package fetcher downloads the URIs of a Mesos CommandInfo into a sandbox
// before the command runs, as the Mesos fetcher does (docs/fetcher.md):
// http(s) URLs and local files (absolute paths or file:// URLs); an
// executable URI is made executable and never extracted; otherwise archives
// (.tar, .tar.gz, .tgz, .tar.bz2, .tbz2, .tar.xz, .txz, .zip) are extracted
// into the sandbox and a .gz file is decompressed next to itself, unless
// extract is false; output_file names the downloaded file. A URI with
// cache set is downloaded once into the cache directory and copied from
// there on later fetches.
package fetcher

import (
	"archive/tar"
	"archive/zip"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/ulikunitz/xz"
)

// Fetcher fetches URIs. The zero value uses http.DefaultClient and no
// cache.
type Fetcher struct {
	Client *http.Client
	// CacheDir holds the downloads of URIs with cache set, one file per
	// URI; empty: such URIs are downloaded every time.
	CacheDir string
}

// FetchAll fetches every URI into dir, stopping at the first failure.
func (f Fetcher) FetchAll(ctx context.Context, uris []mesos.CommandInfo_URI, dir string) error {
	for _, u := range uris {
		if err := f.Fetch(ctx, u, dir); err != nil {
			return err
		}
	}
	return nil
}

// Fetch fetches one URI into dir.
func (f Fetcher) Fetch(ctx context.Context, u mesos.CommandInfo_URI, dir string) error {
	name := u.GetOutputFile()
	if name == "" {
		name = path.Base(uriPath(u.Value))
	}
	if name == "" || name == "." || name == "/" {
		return fmt.Errorf("fetch %s: cannot tell a file name from the URI", u.Value)
	}
	dst := filepath.Join(dir, filepath.Clean("/"+name))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("fetch %s: %w", u.Value, err)
	}
	fetch := f.download
	if u.GetCache() && f.CacheDir != "" {
		fetch = f.cached
	}
	if err := fetch(ctx, u.Value, dst); err != nil {
		return fmt.Errorf("fetch %s: %w", u.Value, err)
	}
	if u.GetExecutable() {
		if err := os.Chmod(dst, 0o755); err != nil {
			return fmt.Errorf("fetch %s: %w", u.Value, err)
		}
		return nil
	}
	extract := u.Extract == nil || *u.Extract
	if !extract {
		return nil
	}
	var err error
	switch lower := strings.ToLower(name); {
	case hasSuffix(lower, ".tar.gz", ".tgz"):
		err = extractTar(dst, dir, gzipReader)
	case hasSuffix(lower, ".tar.bz2", ".tbz2"):
		err = extractTar(dst, dir, bzip2Reader)
	case hasSuffix(lower, ".tar.xz", ".txz"):
		err = extractTar(dst, dir, xzReader)
	case hasSuffix(lower, ".tar"):
		err = extractTar(dst, dir, nil)
	case hasSuffix(lower, ".gz"):
		// As Mesos' gunzip -c: the file without .gz, next to the archive.
		err = decompress(dst, strings.TrimSuffix(dst, filepath.Ext(dst)), gzipReader)
	case hasSuffix(lower, ".zip"):
		err = extractZip(dst, dir)
	default:
		return nil
	}
	if err != nil {
		return fmt.Errorf("extract %s: %w", name, err)
	}
	return nil
}

func uriPath(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" {
		return u.Path
	}
	return raw
}

func (f Fetcher) download(ctx context.Context, raw, dst string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	var src io.ReadCloser
	switch u.Scheme {
	case "http", "https":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
		if err != nil {
			return err
		}
		client := f.Client
		if client == nil {
			client = http.DefaultClient
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return fmt.Errorf("server answered %s", resp.Status)
		}
		src = resp.Body
	case "file", "":
		p := raw
		if u.Scheme == "file" {
			p = u.Path
		}
		if !filepath.IsAbs(p) {
			return errors.New("a local URI must be an absolute path")
		}
		fh, err := os.Open(p)
		if err != nil {
			return err
		}
		src = fh
	default:
		return fmt.Errorf("unsupported URI scheme %q", u.Scheme)
	}
	defer src.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, src); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// cached copies the URI's file from the cache to dst, downloading it into
// the cache first if it is not there (Mesos' fetcher cache, without its
// size limit and eviction).
func (f Fetcher) cached(ctx context.Context, raw, dst string) error {
	sum := sha256.Sum256([]byte(raw))
	entry := filepath.Join(f.CacheDir, hex.EncodeToString(sum[:]))
	if _, err := os.Stat(entry); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(f.CacheDir, 0o755); err != nil {
			return err
		}
		tmp, err := os.CreateTemp(f.CacheDir, ".download-*")
		if err != nil {
			return err
		}
		_ = tmp.Close()
		defer os.Remove(tmp.Name())
		if err := f.download(ctx, raw, tmp.Name()); err != nil {
			return err
		}
		// Concurrent fetches of one URI each rename a whole download.
		if err := os.Rename(tmp.Name(), entry); err != nil {
			return err
		}
	}
	src, err := os.Open(entry)
	if err != nil {
		return err
	}
	defer src.Close()
	return writeFile(dst, src, 0o644)
}

// within joins name to dir and refuses names that leave dir.
func within(dir, name string) (string, error) {
	p := filepath.Join(dir, name)
	if p != dir && !strings.HasPrefix(p, filepath.Clean(dir)+string(filepath.Separator)) {
		return "", fmt.Errorf("archive entry %q leaves the sandbox", name)
	}
	return p, nil
}

func hasSuffix(s string, suffixes ...string) bool {
	for _, x := range suffixes {
		if strings.HasSuffix(s, x) {
			return true
		}
	}
	return false
}

// A decompressor reads the decompressed stream of r.
type decompressor func(r io.Reader) (io.Reader, error)

func gzipReader(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }

func bzip2Reader(r io.Reader) (io.Reader, error) { return bzip2.NewReader(r), nil }

func xzReader(r io.Reader) (io.Reader, error) { return xz.NewReader(r) }

// decompress writes the decompressed archive to dst.
func decompress(archive, dst string, d decompressor) error {
	fh, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer fh.Close()
	r, err := d(fh)
	if err != nil {
		return err
	}
	return writeFile(dst, r, 0o644)
}

func extractTar(archive, dir string, d decompressor) error {
	fh, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer fh.Close()
	var r io.Reader = fh
	if d != nil {
		if r, err = d(fh); err != nil {
			return err
		}
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		p, err := within(dir, h.Name)
		if err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeFile(p, tr, os.FileMode(h.Mode).Perm()); err != nil {
				return err
			}
		case tar.TypeSymlink:
			if _, err := within(dir, filepath.Join(filepath.Dir(h.Name), h.Linkname)); err != nil || filepath.IsAbs(h.Linkname) {
				return fmt.Errorf("archive link %q leaves the sandbox", h.Name)
			}
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := os.Symlink(h.Linkname, p); err != nil {
				return err
			}
		}
	}
}

func extractZip(archive, dir string) error {
	zr, err := zip.OpenReader(archive)
	if err != nil {
		return err
	}
	defer zr.Close()
	for _, f := range zr.File {
		p, err := within(dir, f.Name)
		if err != nil {
			return err
		}
		if f.FileInfo().IsDir() {
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		err = writeFile(p, rc, f.Mode().Perm())
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func writeFile(p string, r io.Reader, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if mode == 0 {
		mode = 0o644
	}
	out, err := os.OpenFile(p, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
