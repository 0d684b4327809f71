// Fidelity matrix client in Java (tests only), run with the single-file source launcher: for each
// job, one GET with java.net.http.HttpClient through the job's proxy (ProxySelector), HTTP/2
// preferred; the trust store (javax.net.ssl.trustStore) holds the proxy's CA.
//
// Usage: java fidelity-client.java   (jobs on stdin, "<id> <proxy port> <url>" a line).
// Prints "RESULT <id> <status> <base64 body or error>" a job.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;

public class FidelityClient {
  public static void main(String[] args) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      String[] parts = line.trim().split(" ");
      if (parts.length != 3) continue;
      int status;
      byte[] body;
      try {
        HttpClient client = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_2)
            .proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", Integer.parseInt(parts[1]))))
            .connectTimeout(Duration.ofSeconds(20))
            .build();
        HttpRequest req = HttpRequest.newBuilder(URI.create(parts[2])).timeout(Duration.ofSeconds(20)).GET().build();
        HttpResponse<byte[]> res = client.send(req, HttpResponse.BodyHandlers.ofByteArray());
        status = res.statusCode();
        body = res.body();
      } catch (Exception e) {
        status = 0;
        body = e.toString().getBytes(StandardCharsets.UTF_8);
      }
      System.out.println("RESULT " + parts[0] + " " + status + " " + Base64.getEncoder().encodeToString(body));
      System.out.flush();
    }
  }
}
