// Command kstatus prints what sigs.k8s.io/cli-utils' kstatus library (the status logic behind
// Flux health checks and `kpt live status`) computes for Kubernetes objects.
//
// It reads one JSON object, or a `List` with `items`, on stdin and prints one line per object:
//
//	<kind>/<name> <status> <message>
//
// berth's integration tests use it to prove that the status berth writes reads the same way to
// kstatus as to berth's own Argo CD health scripts.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "kstatus:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	var obj map[string]interface{}
	dec := json.NewDecoder(in)
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		return fmt.Errorf("failed to decode JSON from stdin: %w", err)
	}
	// unstructured wants int64/float64, not json.Number.
	obj = normalise(obj).(map[string]interface{})

	objects := []map[string]interface{}{obj}
	if obj["kind"] == "List" {
		objects = nil
		items, _ := obj["items"].([]interface{})
		for i, item := range items {
			m, ok := item.(map[string]interface{})
			if !ok {
				return fmt.Errorf("items[%d] is not an object", i)
			}
			objects = append(objects, m)
		}
	}

	w := bufio.NewWriter(out)
	defer w.Flush()
	for _, o := range objects {
		u := &unstructured.Unstructured{Object: o}
		res, err := status.Compute(u)
		if err != nil {
			return fmt.Errorf("failed to compute status of %s/%s: %w", u.GetKind(), u.GetName(), err)
		}
		fmt.Fprintf(w, "%s/%s %s %s\n", u.GetKind(), u.GetName(), res.Status, res.Message)
	}
	return nil
}

func normalise(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		for k, e := range t {
			t[k] = normalise(e)
		}
		return t
	case []interface{}:
		for i, e := range t {
			t[i] = normalise(e)
		}
		return t
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	default:
		return v
	}
}
