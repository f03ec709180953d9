-- wrk prints the 50/75/90/99th percentiles; the catalog targets are stated at the 95th.
done = function(summary, latency, requests)
  io.write(string.format("p95 %.2fms\n", latency:percentile(95) / 1000))
end
