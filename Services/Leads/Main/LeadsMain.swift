import Foundation
import Leads
import ServiceKit

/// `tandem-leads`: configuration from the environment (see ServiceConfiguration), health and
/// metrics on port 8083 by default, graceful shutdown on SIGTERM/SIGINT.
@main
enum LeadsMain {
    static func main() async {
        let code = await TandemService.main(name: "leads", defaultPort: 8083) { configuration, rules in
            LeadsProcessor(configuration: configuration, rules: rules)
        }
        exit(code)
    }
}
