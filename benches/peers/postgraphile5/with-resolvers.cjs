// PostGraphile 5 asks for Node 22 for Promise.withResolvers (ES2024); Debian's Node 20
// lacks only that, so it is added here before PostGraphile loads.
if (typeof Promise.withResolvers !== "function") {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
