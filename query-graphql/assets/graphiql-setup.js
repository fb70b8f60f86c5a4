// GraphiQL on this page's own /graphql; subscriptions on /graphql/ws (graphql-transport-ws).
// With authentication on, put {"Authorization": "Bearer <token>"} in the Headers tab.
(function () {
  var base = location.href.replace(/[?#].*$/, '');
  var subscriptionUrl = base.replace(/^http/, 'ws') + '/ws';
  var fetcher = GraphiQL.createFetcher({
    url: base,
    subscriptionUrl: subscriptionUrl,
    wsClient: graphqlWs.createClient({ url: subscriptionUrl, lazy: true }),
  });
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, { fetcher: fetcher, defaultEditorToolsVisibility: true }),
  );
})();
