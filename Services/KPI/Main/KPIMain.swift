import Foundation
import KPI
import ServiceKit

/// `tandem-kpi`: configuration from the environment (see ServiceConfiguration), health and
/// metrics on port 8084 by default, graceful shutdown on SIGTERM/SIGINT.
@main
enum KPIMain {
    static func main() async {
        let code = await TandemService.main(name: "kpi", defaultPort: 8084) { configuration, rules in
            KPIProcessor(configuration: configuration, rules: rules)
        }
        exit(code)
    }
}
