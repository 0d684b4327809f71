// The README's Go trust recipe (net/http through the proxy, trusting the CA with SSL_CERT_FILE),
// run by test/recipes.test.ts as `go run client.go URL PROXY_URL [PROFILE]`. Without arguments it is
// the README's program: https://example.com/ through http://127.0.0.1:8080. A PROFILE goes on the
// CONNECT request (ProxyConnectHeader), as the README suggests. Standard library only.
package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
)

func main() {
	target, proxy := "https://example.com/", "http://127.0.0.1:8080"
	if len(os.Args) > 2 {
		target, proxy = os.Args[1], os.Args[2]
	}
	proxyURL, err := url.Parse(proxy)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	transport := &http.Transport{Proxy: http.ProxyURL(proxyURL)}
	if len(os.Args) > 3 {
		transport.ProxyConnectHeader = http.Header{"X-PolyTLS-Upstream-Profile": {os.Args[3]}}
	}
	client := &http.Client{Transport: transport}
	res, err := client.Get(target)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(res.StatusCode, string(body))
}
