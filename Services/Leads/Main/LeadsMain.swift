import Foundation
import Leads
import ServiceKit

/// `tandem-leads`: configuration from the environment (see ServiceConfiguration), health and
/// metrics on port 8083 by default, graceful shutdown on SIGTERM/SIGINT. One processor (the
/// catalog table is held whole and shared); the catalog feed runs as the `GET /catalog` endpoint.
@main
enum LeadsMain {
    static func main() async {
        let catalog = CatalogTable()
        let code = await TandemService.main(
            name: "leads",
            defaultPort: 8083,
            makeProcessor: { configuration, rules in
                LeadsProcessor(configuration: configuration, rules: rules, catalog: catalog)
            },
            makeEndpoints: { configuration, _, _, logger in
                [CatalogFeed(configuration: configuration, table: catalog, logger: logger)]
            }
        )
        exit(code)
    }
}
