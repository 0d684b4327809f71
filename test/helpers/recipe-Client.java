// The README's Java trust recipe (HttpClient through the proxy, trusting the CA with a keytool
// truststore), run by test/recipes.test.ts as `java Client.java URL PROXY_PORT`. Without
// arguments it is the README's program: https://example.com/ through 127.0.0.1:8080.
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

public class Client {
  public static void main(String[] args) throws Exception {
    String target = args.length > 0 ? args[0] : "https://example.com/";
    int proxyPort = args.length > 1 ? Integer.parseInt(args[1]) : 8080;
    HttpClient client = HttpClient.newBuilder()
        .proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", proxyPort)))
        .build();
    HttpRequest request = HttpRequest.newBuilder(URI.create(target)).build();
    HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
    System.out.println(response.statusCode() + " " + response.body());
  }
}
