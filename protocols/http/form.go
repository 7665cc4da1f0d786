package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"net/url"
	"os"
	"strconv"
)

// UploadedFile is one file of a multipart/form-data body, an element of
// Workerman's $request->file().
type UploadedFile struct {
	// Field is the form field name.
	Field string
	// Name is the file name the client gave (without directories).
	Name string
	// Size is the size of the file in bytes.
	Size int64
	// ContentType is the type the client declared.
	ContentType string
	// Header holds the part's MIME header.
	Header textproto.MIMEHeader

	fh *multipart.FileHeader
}

// Open opens the file's content for reading.
func (f *UploadedFile) Open() (multipart.File, error) { return f.fh.Open() }

// Data returns the file's content.
func (f *UploadedFile) Data() ([]byte, error) {
	r, err := f.fh.Open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// SaveTo writes the file's content to path (created with mode 0644). Call
// it before the response is sent: temporary files go with the request.
func (f *UploadedFile) SaveTo(path string) error {
	r, err := f.fh.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// parseBody parses a urlencoded, multipart or JSON body once.
func (r *Request) parseBody() error {
	if r.ext().parsed {
		return r.ext().formErr
	}
	r.ext().parsed = true
	r.ext().post = url.Values{}
	if r.ContentLength() == 0 {
		return nil
	}
	ct, params, _ := mime.ParseMediaType(r.Header("Content-Type"))
	switch {
	case ct == "application/x-www-form-urlencoded":
		v, err := url.ParseQuery(string(r.RawBody()))
		r.ext().post = v
		r.ext().formErr = err
	case ct == "multipart/form-data":
		b := params["boundary"]
		if b == "" {
			r.ext().formErr = errors.New("http: multipart body without boundary")
			break
		}
		mr := multipart.NewReader(r.BodyReader(), b)
		form, err := mr.ReadForm(r.st.p.uploadMemoryLimit())
		if err != nil {
			r.ext().formErr = err
			break
		}
		r.ext().form = form
		for k, vs := range form.Value {
			r.ext().post[k] = vs
		}
		r.ext().files = make(map[string][]*UploadedFile, len(form.File))
		for k, fhs := range form.File {
			for _, fh := range fhs {
				r.ext().files[k] = append(r.ext().files[k], &UploadedFile{
					Field: k, Name: fh.Filename, Size: fh.Size,
					ContentType: fh.Header.Get("Content-Type"), Header: fh.Header, fh: fh,
				})
			}
		}
	case ct == "application/json" || (len(ct) > 5 && ct[len(ct)-5:] == "+json"):
		var m map[string]json.RawMessage
		if err := json.Unmarshal(r.RawBody(), &m); err != nil {
			// Not an object: still readable with JSON.
			break
		}
		for k, raw := range m {
			r.ext().post[k] = []string{jsonScalar(raw)}
		}
	}
	return r.ext().formErr
}

// jsonScalar renders a JSON value as a form value: strings unquoted, other
// values as their JSON text.
func jsonScalar(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		if s, err := strconv.Unquote(string(raw)); err == nil {
			return s
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	return string(raw)
}

// PostForm returns the body's fields: urlencoded and multipart forms, and
// the top-level members of a JSON object (strings as they are, other
// values as JSON text). Workerman's $request->post().
func (r *Request) PostForm() (map[string][]string, error) {
	err := r.parseBody()
	return r.ext().post, err
}

// Post returns the first body field called name, or "".
func (r *Request) Post(name string) string {
	r.parseBody()
	if vs := r.ext().post[name]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// Form returns the body's fields and the query parameters together, PHP's
// $_REQUEST: for each name the body's values come first, then the
// query's, so Form().Get(name) prefers the body, as $_REQUEST does
// (request_order "GP": POST overrides GET). The result is a new map; the
// error is PostForm's.
func (r *Request) Form() (url.Values, error) {
	post, err := r.PostForm()
	query := r.Query()
	form := make(url.Values, len(post)+len(query))
	for k, vs := range post {
		form[k] = append(form[k], vs...)
	}
	for k, vs := range query {
		form[k] = append(form[k], vs...)
	}
	return form, err
}

// Input returns the first value called name from the body, or else from
// the query, or "": $_REQUEST[name].
func (r *Request) Input(name string) string {
	if v := r.Post(name); v != "" {
		return v
	}
	if vs := r.ext().post[name]; len(vs) > 0 {
		return ""
	}
	return r.Get(name)
}

// JSON decodes a JSON body into v.
func (r *Request) JSON(v any) error {
	rd := r.BodyReader()
	defer rd.Close()
	return json.NewDecoder(rd).Decode(v)
}

// File returns the first file uploaded under the field name, or nil.
func (r *Request) File(name string) *UploadedFile {
	r.parseBody()
	if fs := r.ext().files[name]; len(fs) > 0 {
		return fs[0]
	}
	return nil
}

// Files returns every uploaded file by field name.
func (r *Request) Files() map[string][]*UploadedFile {
	r.parseBody()
	return r.ext().files
}
