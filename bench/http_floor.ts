/**
 * The HTTP floor, a reference for the benchmark only: a server that reads the body and
 * answers 200 without verifying or writing anything. What any webhook handler served
 * this way costs at least. Served like the function (`deno run --allow-net --allow-env`, `PORT`).
 */
Deno.serve({ port: Number(Deno.env.get("PORT") ?? 8000) }, async (request) => {
  await request.arrayBuffer();
  return new Response("OK");
});
